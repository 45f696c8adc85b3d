"""The ELMo step as one stage: cache the frozen layers, train the mix and the BiLSTM, record the mix."""

from __future__ import annotations

import time

import numpy as np
from accelerate import Accelerator
from accelerate.utils import set_seed

from ...harness.data import Task, joined_texts
from ...harness.evaluation import score_model, texts_outputs
from ...harness.finetuning import train_and_record
from ...harness.models import LoadedModel
from ...harness.records import RunRecord
from ...harness.reports import mix_weights_plot
from ...harness.runs import Run, RunOptions, read_predictions
from ...harness.stages import Stage, run_stage
from ...harness.training import TrainConfig
from ..ngrams import NgramConfig, build_linear, describe_defaults
from .features import ElmoSpec, Encoder, FeatureCollator, cached_features, feature_cache
from .model import build_classifier, mix_summary

MIX_PLOT = "mix_weights.png"


def train_elmo(task: Task, encoder: Encoder, spec: ElmoSpec, *, train_config: TrainConfig, options: RunOptions,
               accelerator: Accelerator, config: dict) -> RunRecord:
    """Train a scalar mix and a BiLSTM over `encoder`'s frozen layers; the record holds s_j and gamma.

    With `spec.cache_features` each layer's vectors are computed once and training reads them from
    disk; evaluation's speed is still measured from raw text, encoder included.
    """
    set_seed(train_config.seed)  # the same initialisation whether the biLM was just pretrained or reused
    model, info = build_classifier(encoder, mix=spec.mix, layer_norm=spec.layer_norm, hidden_size=spec.hidden_size,
                                   dropout=spec.dropout, head=task.head())

    cache = feature_cache(encoder, task, spec.max_length) if spec.cache_features else None
    # The baseline is built (not fitted) now: options it cannot take are refused before anything trains.
    baseline = build_linear(NgramConfig(), train_config.seed, task.task_type, class_weights=task.class_weights)

    timings = {}

    def add_mix(run: Run, record: RunRecord, folder) -> None:
        record.extra["mix"] = mix_summary(accelerator.unwrap_model(model))
        record.extra["feature_cache"] = {"folder": str(cache) if cache else None, **timings}
        record.extra["versus_baseline"] = versus_bag_of_words(
            task, read_predictions(run.dir, task.label_names, task.task_type), baseline=baseline,
            seed=train_config.seed)
        mix_weights_plot(record, run.dir / MIX_PLOT)

    def body(run: Run, resume: bool) -> RunRecord:
        data, collate = encoder.encode(task, spec.max_length), encoder.collator(task.task_type)
        if cache:
            start = time.perf_counter()
            data = cached_features(encoder, data, kind=task.task_type, root=cache,
                                   batch_size=train_config.eval_batch_size, accelerator=accelerator)
            timings["seconds"] = time.perf_counter() - start  # computing the layers, or reading them back
            collate = FeatureCollator()
        return train_and_record(run, LoadedModel(model, encoder.tokenizer, info), task, data,
                                train_config=train_config, accelerator=accelerator, resume=resume,
                                max_length=spec.max_length, recipe="elmo", method="elmo", collate=collate,
                                finish=add_mix)

    stage = Stage(f"ELMo: {spec.mix} mix of {info['encoder']}'s frozen layers, BiLSTM on top", "elmo",
                  [info["encoder"], spec.mix, task.name], config)
    # --resume continues this run; with nothing to continue it is refused, unless the biLM it reads was pretrained
    # (or continued) just now, when this run has never started.
    return run_stage(stage, body, options=options, accelerator=accelerator, reuse=False,
                     only_stage=not encoder.pretrained_now)


def versus_bag_of_words(task: Task, predictions: np.ndarray, *, baseline, seed: int) -> dict:
    """The honest baseline on the same test sentences: `baseline`, what recipes/bow.py fits by default (TF-IDF
    1-2-grams and the task type's linear model, classes weighted as the run's; to tag words, its window features),
    fitted here on the training rows; its main metric per phenomenon, and the task type's paired test (exact
    McNemar for classes, a paired bootstrap otherwise)."""
    kind, defaults = task.task_type, NgramConfig()
    baseline.fit(*kind.linear_inputs(joined_texts(task.splits["train"]), task.splits["train"]["label"]))
    metrics, guesses = score_model(lambda split: texts_outputs(lambda texts: kind.linear_outputs(baseline, texts),
                                                                task, split), task, seed=seed)
    return {"baseline": f"{describe_defaults(defaults, kind)} (recipes/bow.py defaults)", "metric": kind.main_metric,
            kind.main_metric: metrics[kind.main_metric], "per_phenomenon": metrics.get("per_phenomenon", {}),
            **kind.paired_test(predictions, guesses, kind.references(task.splits["test"]["label"]), seed=seed)}
