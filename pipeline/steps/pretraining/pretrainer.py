"""Pretraining as one stage other recipes can take too: the run is found finished, resumed or started.

The saved model is a run like any other: `recipes/finetune.py --model outputs/<run>` fine-tunes it,
distillation takes it as a teacher or a student's start, and the ELMo step reads the biLM's layers.
"""

from __future__ import annotations

from accelerate import Accelerator
from huggingface_hub import ModelCard, ModelCardData

from ...harness.cards import pretrained_writer
from ...harness.config import parse_options
from ...harness.records import RunRecord, build_record, finish_run, finished_record
from ...harness.reports import loss_curve_plot
from ...harness.runs import Run, RunOptions
from ...harness.stages import Stage, run_stage
from ...harness.training import TrainConfig, remove_checkpoints, train
from .corpus import CorpusSpec, load_corpus
from .objectives import OBJECTIVES, PretrainSpec, build_language_model, corpus_tokens, encode_corpus, lm_validation

# The options that identify a pretraining: the recipe parses these, and other recipes build the same
# config from the same types to find a finished run.
PRETRAIN_OPTIONS = (CorpusSpec, PretrainSpec, TrainConfig, RunOptions)
# Small models learn from scratch at a higher rate than the fine-tuning default.
PRETRAIN_DEFAULTS = {"learning_rate": 1e-3, "epochs": 6, "batch_size": 32, "warmup_ratio": 0.05}
LOSS_CURVE = "loss_curve.png"
PIPELINE_TAGS = {"mlm": "fill-mask", "clm": "text-generation", "plm": "text-generation"}


def pretraining_stage(corpus: CorpusSpec, spec: PretrainSpec, config: dict) -> Stage:
    return Stage(f"{spec.objective} pretraining of {spec.model}", "pretrain", [spec.objective, spec.model, corpus.corpus],
                 config)


def finished_pretraining(argv: list[str]) -> RunRecord | None:
    """The record `recipes/pretrain.py <argv>` would reuse, if it exists (how other recipes find its run)."""
    (corpus, spec, _, options), config = parse_options(PRETRAIN_OPTIONS, "", argv, defaults=PRETRAIN_DEFAULTS)
    stage = pretraining_stage(corpus, spec, config)
    return finished_record(options, stage.recipe, stage.parts, stage.config)


def pretrain(corpus_spec: CorpusSpec, spec: PretrainSpec, *, train_config: TrainConfig, options: RunOptions,
             accelerator: Accelerator, config: dict, reuse: bool = True, only_stage: bool = False) -> RunRecord:
    """Pretrain with the objective's loss, keep the epoch of lowest held-out loss, record perplexity and speed."""
    state = {}

    def prepare() -> None:
        state["corpus"] = load_corpus(corpus_spec)
        with accelerator.main_process_first():  # the tokenizer is trained (and cached) once
            state["loaded"] = build_language_model(spec, state["corpus"].train)

    def body(run: Run, resume: bool) -> RunRecord:
        corpus, loaded = state["corpus"], state["loaded"]
        objective = OBJECTIVES[spec.objective]
        train_set = encode_corpus(corpus.train, loaded.tokenizer, spec)
        held_out = encode_corpus(corpus.held_out, loaded.tokenizer, spec)
        collate = objective.collator(loaded.tokenizer, spec, loaded.model.config)
        training = train(loaded.model, train_set, held_out, collate=collate,
                         config=train_config, accelerator=accelerator, run_dir=run.dir,
                         validation=lm_validation(objective), resume=resume)
        tokens = corpus_tokens(train_set)
        best = {k: v for k, v in training.best_validation.items() if k != "epoch"}
        metrics = {**best, "train_tokens": tokens, "held_out_tokens": corpus_tokens(held_out),
                   "tokens_per_second": tokens * len(training.epoch_seconds) / sum(training.epoch_seconds)}
        record = build_record(run, corpus, recipe="pretrain", method=spec.objective, model_info=loaded.info,
                              metrics=metrics, training=training, accelerator=accelerator, seed=train_config.seed)
        if accelerator.is_main_process:
            write = pretrained_writer(accelerator.unwrap_model(loaded.model), loaded.tokenizer, record,
                                      state_dict=training.state_dict, card=lm_card)
            finish_run(run, record, write=write, finish=lambda run, record, folder: loss_curve_plot(
                record, run.dir / LOSS_CURVE))
        if not train_config.keep_checkpoints:
            remove_checkpoints(run.dir, accelerator)
        accelerator.wait_for_everyone()
        return record

    return run_stage(pretraining_stage(corpus_spec, spec, config), body, options=options, accelerator=accelerator,
                     reuse=reuse, prepare=prepare, only_stage=only_stage)


CARD = """---
{{ card_data }}
---

# {{ model_name }}

A `{{ family }}` model ({{ parameters }} parameters) pretrained from `{{ start }}` with the `{{ objective }}`
objective ({{ description }}) by the `pretrain` recipe of nlp-road, on the corpus `{{ corpus }}`
({{ tokens }} tokens, fingerprint `{{ fingerprint }}`).

Held-out perplexity: {{ perplexity }}.

## Use

```bash
accelerate launch recipes/finetune.py --model {{ path }}
```

The full config and environment are in `../results.json`; the loss curve is `../loss_curve.png`.
"""


def lm_card(record: RunRecord) -> ModelCard:
    metrics = record.metrics
    perplexity = f"{metrics['perplexity']:.2f}"
    if "forward_perplexity" in metrics:
        perplexity += f" (forward {metrics['forward_perplexity']:.2f}, backward {metrics['backward_perplexity']:.2f})"
    data = ModelCardData(language="en", library_name="transformers", pipeline_tag=PIPELINE_TAGS.get(record.method),
                         tags=["nlp-road", "pretrain", record.method], model_name=record.run_id)
    return ModelCard.from_template(
        data, template_str=CARD, family=record.model["family"], parameters=f"{record.parameters:,}",
        start=record.model["name"], objective=record.method,
        description=OBJECTIVES[record.method].description, corpus=record.task["name"],
        tokens=f"{metrics['train_tokens']:,}", fingerprint=record.task["fingerprint"], perplexity=perplexity,
        path=record.run_dir)
