"""What each family learns from unlabelled text: its objective, its model with an LM head, and its batches.

    bilm  ELMo: a forward and a backward LSTM LM over characters (pipeline/pretraining/bilm.py)
    mlm   BERT: 15% of tokens hidden, each predicted from both sides
    clm   GPT-2: every token predicted from the ones before it
    plm   XLNet: tokens predicted in a sampled order, each from the ones before it in that order

Adding an objective is one entry in OBJECTIVES.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from datasets import Dataset
from transformers import (AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, DataCollatorForLanguageModeling,
                          DataCollatorForPermutationLanguageModeling)
from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES, MODEL_FOR_MASKED_LM_MAPPING_NAMES

from ...harness.errors import UsageError, check_options
from ...harness.heads import FAMILY, offered, set_readout
from ...harness.hub import hub_reachable
from ...harness.models import (PRESETS, LoadedModel, count_parameters, load_tokenizer, override_dropout, preset_config,
                      resolve_name, train_tokenizer)
from ...harness.training import Validation
from .bilm import BILM_PRESETS, BiLMCollator, BiLMConfig, BiLMForLanguageModeling, word_inputs


@dataclass(frozen=True)
class Objective:
    description: str
    default_model: str
    families: Callable[[str], bool]  # which model types it trains
    auto_class: type | None  # the transformers Auto class with the objective's head; None for the biLM
    collator: Callable  # (tokenizer, spec, model config) -> collate function
    targets: Callable[[dict], torch.Tensor]  # how many tokens a batch predicts (to weight held-out losses)
    # The classifier read-out this pretraining informs (harness/heads.py), saved in the model's config
    # where its family offers it: a masked LM never trains BERT's [CLS] position, so its fine-tunes read the mean.
    readout: str = FAMILY


def _masked_targets(batch: dict) -> torch.Tensor:
    return (batch["labels"] != -100).sum()


def _causal_collate(tokenizer, spec, config) -> Callable:
    """Blocks are full, so there is no padding: every token is a target (the model shifts the labels)."""

    def collate(rows: list[dict]) -> dict:
        ids = torch.tensor([r["input_ids"] for r in rows])
        return {"input_ids": ids, "labels": ids.clone()}

    return collate


OBJECTIVES: dict[str, Objective] = {
    "mlm": Objective("masked LM (BERT): hidden tokens predicted from both sides", "bert-tiny",
                     lambda family: family in MODEL_FOR_MASKED_LM_MAPPING_NAMES, AutoModelForMaskedLM,
                     lambda tok, spec, config: DataCollatorForLanguageModeling(
                         tok, mlm_probability=spec.mlm_probability),
                     _masked_targets, readout="mean"),
    "clm": Objective("causal LM (GPT-2): each token predicted from the ones before it", "gpt2-tiny",
                     lambda family: family in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and family != "xlnet",
                     AutoModelForCausalLM, _causal_collate,
                     lambda batch: (batch["labels"][:, 1:] != -100).sum()),
    "plm": Objective("permutation LM (XLNet): tokens predicted in a sampled order", "xlnet-tiny",
                     lambda family: family == "xlnet", AutoModelForCausalLM,
                     lambda tok, spec, config: DataCollatorForPermutationLanguageModeling(
                         tok, plm_probability=spec.plm_probability, max_span_length=spec.max_span_length),
                     _masked_targets),
    "bilm": Objective("biLM (ELMo): forward and backward LSTM LMs over characters", "elmo-tiny",
                      lambda family: family == BiLMConfig.model_type, None,
                      lambda tok, spec, config: BiLMCollator(tok, config.max_characters_per_token),
                      lambda batch: batch["attention_mask"][:, 1:].sum()),
}


@dataclass
class PretrainSpec:
    objective: str = field(default="mlm", metadata={
        "help": "; ".join(f"{name}: {o.description}" for name, o in OBJECTIVES.items())})
    model: str | None = field(default=None, metadata={
        "help": f"A preset ({', '.join(o.default_model for o in OBJECTIVES.values())} are the defaults; "
                f"also {', '.join(n for n in BILM_PRESETS if n != 'elmo-tiny')} and the other presets), "
                "a save_pretrained directory or run folder to continue from, or a hub id"})
    block_size: int = field(default=64, metadata={
        "help": "mlm/clm/plm: texts are joined and cut into blocks of this many tokens; bilm: words per sentence."})
    vocab_size: int = field(default=8000, metadata={"help": "Vocabulary of the tokenizer trained on the corpus."})
    mlm_probability: float = field(default=0.15, metadata={"help": "mlm: share of tokens hidden."})
    plm_probability: float = field(default=1 / 6, metadata={"help": "plm: share of tokens predicted."})
    max_span_length: int = field(default=5, metadata={"help": "plm: longest span of tokens predicted together."})
    token_representation: str = field(default="char", metadata={
        "help": "bilm: 'char' (ELMo's character CNN with highway layers) or 'word' (word embeddings)."})
    dropout: float | None = field(default=None, metadata={"help": "Override every dropout probability."})

    def __post_init__(self):
        check_options([
            (self.objective in OBJECTIVES, f"--objective {self.objective!r}: choose {', '.join(OBJECTIVES)}"),
            (self.block_size >= 4, f"--block_size must be at least 4 (got {self.block_size})"),
            (self.objective != "plm" or self.block_size % 2 == 0,
             f"--block_size must be even for plm (XLNet's permutation masks need it; got {self.block_size})"),
            (self.vocab_size >= 16, f"--vocab_size must be at least 16 (got {self.vocab_size})"),
            (0 < self.mlm_probability < 1, f"--mlm_probability must be in (0, 1) (got {self.mlm_probability})"),
            (0 < self.plm_probability < 1, f"--plm_probability must be in (0, 1) (got {self.plm_probability})"),
            (self.max_span_length >= 1, f"--max_span_length must be at least 1 (got {self.max_span_length})"),
            (self.token_representation in ("char", "word"),
             f"--token_representation {self.token_representation!r}: choose char or word"),
            (self.dropout is None or 0 <= self.dropout < 1, f"--dropout must be in [0, 1) (got {self.dropout})"),
        ])
        self.model = self.model or OBJECTIVES[self.objective].default_model
        family = _preset_family(self.model)
        check_options([(family is None or OBJECTIVES[self.objective].families(family),
                        f"--objective {self.objective} does not train '{self.model}' (a {family} model); "
                        f"use --objective {_objective_for(family)} or a model of another family")])


def _preset_family(name: str) -> str | None:
    if name in BILM_PRESETS:
        return BiLMConfig.model_type
    if name in PRESETS and not Path(name).exists():
        preset = PRESETS[name]
        return (AutoConfig.from_pretrained(preset.path()) if preset.path else preset.config(100)).model_type
    return None


def _objective_for(family: str) -> str:
    return next((name for name, o in OBJECTIVES.items() if o.families(family)), "(none)")


def build_language_model(spec: PretrainSpec, texts: list[str]) -> LoadedModel:
    """The model with its objective's head: a preset from scratch (its tokenizer trained on `texts`), or a
    saved model or hub id to continue pretraining."""
    objective = OBJECTIVES[spec.objective]
    if spec.model in BILM_PRESETS or (spec.model in PRESETS and not PRESETS[spec.model].path):
        loaded = _from_scratch(spec, texts)
    else:
        loaded = _continued(spec, objective)
    override_dropout(loaded.model.config, spec.dropout)
    if objective.readout in offered(loaded.model.config.model_type):
        set_readout(loaded.model.config, objective.readout, spec.model)
    loaded.info.update(name=spec.model, family=loaded.model.config.model_type,
                       parameters=count_parameters(loaded.model), objective=spec.objective)
    return loaded


def _from_scratch(spec: PretrainSpec, texts: list[str]) -> LoadedModel:
    if spec.objective == "bilm":
        tokenizer = train_tokenizer("elmo", texts, spec.vocab_size, spec.model)
        config = BiLMConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                            token_representation=spec.token_representation, **BILM_PRESETS[spec.model])
        if spec.dropout is not None:
            config.dropout = spec.dropout
        model = BiLMForLanguageModeling(config)
        return LoadedModel(model, tokenizer, {"kind": "preset", "preset": spec.model})
    preset = PRESETS[spec.model]
    tokenizer = train_tokenizer(preset.tokenizer, texts, spec.vocab_size, spec.model)
    model = OBJECTIVES[spec.objective].auto_class.from_config(preset_config(preset, tokenizer))
    return LoadedModel(model, tokenizer, {"kind": "preset", "preset": spec.model, "description": preset.description})


def _continued(spec: PretrainSpec, objective: Objective) -> LoadedModel:
    name = PRESETS[spec.model].path() if spec.model in PRESETS else resolve_name(spec.model)
    local = Path(name).is_dir()
    if not local and not hub_reachable():
        raise UsageError(f"model '{spec.model}' is not a preset or a local folder, and the Hugging Face Hub is "
                         f"unreachable; use a preset ({objective.default_model}) or a saved model")
    config = AutoConfig.from_pretrained(name)
    if not objective.families(config.model_type):
        raise UsageError(f"--objective {spec.objective} does not train '{spec.model}' (a {config.model_type} "
                         f"model); use --objective {_objective_for(config.model_type)}")
    model_class = BiLMForLanguageModeling if objective.auto_class is None else objective.auto_class
    model = model_class.from_pretrained(name)
    return LoadedModel(model, load_tokenizer(name), {"kind": "local" if local else "hub", "source": name})


def encode_corpus(texts: list[str], tokenizer, spec: PretrainSpec) -> Dataset:
    """bilm: one row per text (words and their ids). Others: the texts' tokens joined (GPT-2's separated by
    its end-of-text token) and cut into blocks of block_size, as transformers' run_mlm/run_clm/run_plm do."""
    rows = Dataset.from_dict({"text": texts})
    if spec.objective == "bilm":
        return rows.map(lambda b: word_inputs(tokenizer, b["text"], spec.block_size), batched=True,
                        remove_columns=["text"])
    eos = [tokenizer.eos_token_id] if spec.objective == "clm" else []

    def blocks(batch: dict) -> dict:
        ids = [i for text in tokenizer(batch["text"])["input_ids"] for i in [*text, *eos]]
        usable = len(ids) // spec.block_size * spec.block_size
        return {"input_ids": [ids[i:i + spec.block_size] for i in range(0, usable, spec.block_size)]}

    encoded = rows.map(blocks, batched=True, batch_size=2000, remove_columns=["text"])
    if len(encoded) == 0:
        raise UsageError(f"the corpus is shorter than one block of {spec.block_size} tokens; "
                         "give more text or a smaller --block_size")
    return encoded


def corpus_tokens(encoded: Dataset) -> int:
    return sum(len(ids) for ids in encoded["input_ids"])


def lm_validation(objective: Objective) -> Validation:
    """Held-out loss per predicted token and its perplexity (forward and backward for the biLM).

    The held-out batches are the same every epoch, and so are their masks and orders (the training
    loop seeds each batch's collate by its content): every epoch is scored on the same targets.
    """

    @torch.no_grad()
    def scores(model, loader, accelerator) -> dict:
        model.eval()
        sums: dict[str, torch.Tensor] = {}  # loss, and for the biLM each direction's, times targets
        count = torch.zeros((), dtype=torch.float64, device=accelerator.device)
        for batch in loader:
            out = model(**batch)
            n = objective.targets(batch).double()
            for name in ("loss", "forward_loss", "backward_loss"):
                if getattr(out, name, None) is not None:
                    sums[name] = sums.get(name, 0) + out[name].double() * n
            count += n
        count = accelerator.reduce(count, "sum")
        result = {}
        for name, total in sums.items():
            loss = (accelerator.reduce(total, "sum") / count).item()
            if name == "loss":
                result.update(loss=loss, perplexity=math.exp(loss))
            else:
                result[name.replace("loss", "perplexity")] = math.exp(loss)
        return result

    return Validation(scores, metric="loss", higher_is_better=False)
