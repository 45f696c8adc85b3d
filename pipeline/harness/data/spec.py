"""What names a data set (DataSpec) and what every source becomes (Task)."""

from __future__ import annotations

from dataclasses import dataclass, field

from datasets import DatasetDict

from ..errors import check_options
from .encoding import Input
from .splits import fingerprint


@dataclass
class DataSpec:
    dataset: str = field(default="builtin", metadata={
        "help": "'builtin' (generated, offline), a folder with train/validation/test files, a data file, "
                "or a hub data set name"})
    dataset_config: str | None = field(default=None, metadata={"help": "Hub data set config (e.g. 'sst2')."})
    train_file: str | None = field(default=None, metadata={"help": "Training file (csv/tsv/json/jsonl/parquet)."})
    validation_file: str | None = field(default=None, metadata={"help": "Validation file; carved from train if absent."})
    test_file: str | None = field(default=None, metadata={"help": "Test file; carved from train if absent."})
    text_column: str | None = field(default=None, metadata={"help": "Text column (default: found among "
                                                                     "sentence/text/review)."})
    text_pair_column: str | None = field(default=None, metadata={"help": "Second text column for sentence pairs."})
    label_column: str | None = field(default=None, metadata={"help": "Label column (default: label/labels)."})
    label_names: str | None = field(default=None, metadata={
        "help": "Comma-separated names for integer labels 0..n-1, e.g. 'negative,positive'."})
    validation_size: float = field(default=0.1, metadata={"help": "Fraction of train carved out for a missing split."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Train on this many shuffled rows."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Cap validation and test at this many rows."})
    data_seed: int = field(default=0, metadata={"help": "Seed of the built-in generator, splits and row sampling."})
    missing_text: str = field(default="refuse", metadata={
        "help": "Rows whose text is empty or missing: 'refuse' (stop and say where) or 'drop' (count them in the record)."})

    def __post_init__(self):
        check_options([
            (0 < self.validation_size < 1, f"--validation_size must be between 0 and 1 (got {self.validation_size})"),
            (self.max_train_samples is None or self.max_train_samples >= 1,
             f"--max_train_samples must be at least 1 (got {self.max_train_samples})"),
            (self.max_eval_samples is None or self.max_eval_samples >= 1,
             f"--max_eval_samples must be at least 1 (got {self.max_eval_samples})"),
            (self.missing_text in ("refuse", "drop"), f"--missing_text {self.missing_text!r}: choose refuse or drop"),
        ])


@dataclass
class Task:
    splits: DatasetDict
    name: str
    label_names: list[str]
    label_mapping: dict[str, int]
    is_pair: bool
    fingerprint: str
    source: dict
    left_out: list[Input] = field(default_factory=list)  # train inputs that --max_train_samples left out

    def describe(self) -> dict:
        """The part of a run record that identifies the data; `evaluation_fingerprint` is the test split's alone."""
        return {"name": self.name, "fingerprint": self.fingerprint,
                "evaluation_fingerprint": fingerprint({"test": self.splits["test"]}, self.label_names),
                "label_names": self.label_names,
                "label_mapping": self.label_mapping, "is_pair": self.is_pair, "source": self.source,
                "sizes": {split: len(rows) for split, rows in self.splits.items()}}
