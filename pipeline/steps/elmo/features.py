"""The frozen model the ELMo step reads, and its layers for every token of a data set, computed once.

The encoder never changes during training, so each split's layers are computed in one pass and
kept on disk (arrow files through `datasets`, memory-mapped, no pickle) under a key made of the
encoder's weights, the data's fingerprint and the length limit: every later run of the same
encoder on the same data (another mix, another seed) reads them instead of running the encoder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator
from datasets import Array3D, Dataset, DatasetDict, Features, Sequence, Value, load_from_disk
from tqdm.auto import tqdm
from transformers import AutoModel, DataCollatorWithPadding

from ...harness.config import parse_options
from ...harness.data import Task, encode, joined_texts
from ...harness.errors import UsageError, check_options
from ...harness.hub import hub_reachable
from ...harness.models import CACHE, PRESETS, load_tokenizer, resolve_name, weights_digest
from ...harness.records import finished_record, read_record
from ...harness.runs import RECORD, RunOptions
from ...harness.tasks import TaskType, padded_words
from ..pretraining.bilm import BiLMCollator, BiLMConfig, BiLMTokenizer, word_inputs
from ..pretraining.pretrainer import PRETRAIN_DEFAULTS, PRETRAIN_OPTIONS, pretrain, pretraining_stage
from .mix import MIXES
from .model import stacked_layers

DEFAULT_BILM = ["--objective", "bilm"]  # the pretraining `--encoder bilm` reuses, or runs first
ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "char_ids")


@dataclass
class ElmoSpec:
    encoder: str = field(default="bilm", metadata={
        "help": "The frozen model: 'bilm' (the default biLM pretraining, `recipes/pretrain.py --objective bilm`, "
                "run first if it has not finished), a pretrain run folder, 'minilm', or any transformers "
                "model's folder or hub id"})
    mix: str = field(default="learned", metadata={
        "help": "learned: softmax layer weights learned with the task; uniform: equal weights; top: last layer only"})
    layer_norm: bool = field(default=False, metadata={"help": "Normalise each layer before mixing."})
    hidden_size: int = field(default=128, metadata={"help": "Task BiLSTM state width per direction."})
    dropout: float = field(default=0.0, metadata={"help": "Dropout on the mixed representation and the classifier."})
    max_length: int = field(default=64, metadata={"help": "Truncate inputs to this many tokens (words for the biLM)."})
    cache_features: bool = field(default=True, metadata={
        "help": "Compute the frozen layers once and read them from disk (--no_cache_features: run the "
                "encoder in every batch)."})

    def __post_init__(self):
        check_options([
            (self.mix in MIXES, f"--mix {self.mix!r}: choose {', '.join(MIXES)}"),
            (self.hidden_size >= 1, f"--hidden_size must be at least 1 (got {self.hidden_size})"),
            (0 <= self.dropout < 1, f"--dropout must be in [0, 1) (got {self.dropout})"),
            (self.max_length >= 3, f"--max_length must be at least 3 (got {self.max_length})"),
        ])


@dataclass
class Encoder:
    """A frozen model and how texts become its inputs; `identity` names its weights for the feature cache."""

    model: torch.nn.Module
    tokenizer: object
    info: dict
    identity: str
    pretrained_now: bool = False  # the default biLM, pretrained (or continued) by this call

    @property
    def is_bilm(self) -> bool:
        return isinstance(self.model.config, BiLMConfig)

    def encode(self, task: Task, max_length: int) -> DatasetDict:
        """Every split as the encoder's inputs and `labels` (a tagger's also `word_starts`); the biLM's tokens
        are words, so a tagged word is one token of it."""
        if not self.is_bilm or task.task_type.reads_words:
            return encode(task, self.tokenizer, max_length)
        return DatasetDict({split: Dataset.from_dict({**word_inputs(self.tokenizer, joined_texts(rows), max_length),
                                                      "labels": rows["label"]})
                            for split, rows in task.splits.items()})

    def collator(self, kind: TaskType):
        if self.is_bilm:
            return BiLMCollator(self.tokenizer, self.model.config.max_characters_per_token)
        return kind.collator(self.tokenizer) if kind.reads_words else DataCollatorWithPadding(self.tokenizer)


def load_encoder(spec: ElmoSpec, *, options: RunOptions, accelerator: Accelerator) -> Encoder:
    """The frozen model `--encoder` names; 'bilm' pretrains the default biLM first unless a run of it finished."""
    name, pretrained_now = spec.encoder, False
    if name == "bilm":
        argv = [*DEFAULT_BILM, "--output_dir", options.output_dir, *(["--resume"] if options.resume else [])]
        (corpus, pretrain_spec, train_config, pretrain_options), config = parse_options(
            PRETRAIN_OPTIONS, "", argv, defaults=PRETRAIN_DEFAULTS)
        stage = pretraining_stage(corpus, pretrain_spec, config)
        pretrained_now = finished_record(pretrain_options, stage.recipe, stage.parts, stage.config) is None
        # Under --resume a biLM with no run at all means nothing to resume: the ELMo run needs it first.
        record = pretrain(corpus, pretrain_spec, train_config=train_config, options=pretrain_options,
                          accelerator=accelerator, config=config, only_stage=True)
        name = record.run_dir
    if name in PRESETS and not PRESETS[name].path:
        raise UsageError(f"--encoder {name}: the preset is an untrained model; pretrain it first "
                         f"(recipes/pretrain.py --model {name}) and give the run folder")
    path = PRESETS[name].path() if name in PRESETS else resolve_name(name)
    local = Path(path).is_dir()
    if not local and not hub_reachable():
        raise UsageError(f"--encoder {name!r} is not a local folder and the Hugging Face Hub is unreachable; "
                         "use 'bilm', 'minilm' or a run folder")
    model = AutoModel.from_pretrained(path).eval().requires_grad_(False)
    run = read_record(Path(path).parent) if local and (Path(path).parent / RECORD).is_file() else None
    info = {"encoder": run.model["name"] if run else name, "encoder_source": str(path),
            "encoder_family": model.config.model_type, "encoder_run": run.run_id if run else None}
    tokenizer = (BiLMTokenizer.from_pretrained(path, max_characters_per_token=model.config.max_characters_per_token)
                 if isinstance(model.config, BiLMConfig) else load_tokenizer(path))
    return Encoder(model, tokenizer, info, weights_digest(Path(path)) if local else path,
                   pretrained_now=pretrained_now)


def feature_cache(encoder: Encoder, task: Task, max_length: int) -> Path:
    """Where the layers of `encoder` over `task` are kept: one folder per (weights, data, length limit, and what
    the rows' labels are: the task type, and a tagger's pieces tagged)."""
    key = hashlib.sha256(json.dumps([encoder.identity, task.describe()["fingerprint"], max_length, task.task_type.name,
                                     bool(task.source.get("label_all_tokens"))]).encode())
    return CACHE / "elmo-features" / key.hexdigest()[:16]


def cached_features(encoder: Encoder, encoded: DatasetDict, *, kind: TaskType, root: Path, batch_size: int,
                    accelerator: Accelerator) -> DatasetDict:
    """Each split's rows as `features` (tokens, layers, width; float16), `input_ids` and `labels` (and a tagger's
    `word_starts`), kept under `root`. The main process computes what the cache lacks; the others wait, then
    read it.
    """
    with accelerator.main_process_first():
        splits = {}
        for split, rows in encoded.items():
            folder = root / split
            if not (folder / "dataset_info.json").is_file():
                if not accelerator.is_main_process:
                    raise RuntimeError(f"feature cache {folder} missing after the main process wrote it")
                _compute(encoder, rows, folder, collate=encoder.collator(kind), batch_size=batch_size,
                         title=f"frozen layers ({split})")
            splits[split] = load_from_disk(str(folder)).with_format("torch")
    return DatasetDict(splits)


def _compute(encoder: Encoder, rows: Dataset, folder: Path, *, collate, batch_size: int, title: str) -> None:
    kept = [column for column in ("input_ids", "labels", "word_starts") if column in rows.column_names]
    columns = {"features": [], **{column: [] for column in kept}}
    for start in tqdm(range(0, len(rows), batch_size), desc=title):
        chunk = [rows[i] for i in range(start, min(start + batch_size, len(rows)))]
        batch = collate(chunk)
        states = stacked_layers(encoder.model, {k: v for k, v in batch.items() if k in ENCODER_INPUTS})
        for row, layers, mask in zip(chunk, states, batch["attention_mask"].bool()):
            columns["features"].append(layers[mask].half().numpy())  # the real tokens, in the row's own order
            for column in kept:
                columns[column].append(row[column])
    layers, width = columns["features"][0].shape[1:]
    features = Features({"features": Array3D(shape=(None, layers, width), dtype="float16"),
                         **{column: rows.features[column] for column in kept}})  # labels: the task type's
    if "word_starts" in kept:  # a tagger's labels hold -100 where no tag is read
        features["labels"] = Sequence(Value("int64"))
    staging = folder.with_name(folder.name + f".tmp{os.getpid()}")  # each process its own: runs may share the cache
    shutil.rmtree(staging, ignore_errors=True)
    Dataset.from_dict(columns, features=features).save_to_disk(str(staging))
    folder.parent.mkdir(parents=True, exist_ok=True)
    if (folder / "dataset_info.json").is_file():  # another process computed the same layers meanwhile
        shutil.rmtree(staging)
    else:
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)


class FeatureCollator:
    """Pads cached layers (tokens, layers, width) into a batch with its attention mask; a tagger's labels with
    -100 (what the loss skips) and word starts with 0."""

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        length = max(len(r["features"]) for r in rows)
        first = rows[0]["features"]
        features = torch.zeros(len(rows), length, *first.shape[1:], dtype=first.dtype)
        mask = torch.zeros(len(rows), length, dtype=torch.long)
        for i, row in enumerate(rows):
            features[i, :len(row["features"])] = row["features"]
            mask[i, :len(row["features"])] = 1
        if "word_starts" in rows[0]:  # a tagger's: a value per token
            return {"features": features, "attention_mask": mask, **padded_words(rows, length)}
        return {"features": features, "attention_mask": mask,
                "labels": torch.stack([torch.as_tensor(r["labels"]) for r in rows])}  # ids, multi-hot rows or numbers
