"""What names a data set (DataSpec) and what every source becomes (Task)."""

from __future__ import annotations

from dataclasses import dataclass, field

from datasets import DatasetDict

from ..errors import check_options
from ..tasks import TASK_TYPES, ClassWeights, TaskType, head_for
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
    task_type: str | None = field(default=None, metadata={
        "help": f"{', '.join(TASK_TYPES)}; default: found from the data (a column of word lists with a tag "
                "list is token classification, a float label column regression, a list label column multi-label, "
                "anything else single-label). With --dataset builtin it picks the generator: graded sentiment "
                "scores (regression), the aspects a review praises or criticises (multi_label), or its aspects "
                "and opinion words tagged as spans (token_classification)."})
    label_separator: str | None = field(default=None, metadata={
        "help": "multi_label: the separator of label sets written as strings, e.g. 'sports,politics' (default ',')."})
    threshold: float = field(default=0.5, metadata={
        "help": "multi_label: a label is predicted when its probability reaches this (given, it is used as it is: "
                "no threshold is tuned)."})
    tune_threshold: bool = field(default=True, metadata={
        "help": "multi_label: pick the threshold (0.05 to 0.95) with the best validation Jaccard accuracy; each "
                "epoch is judged at its own (--no_tune_threshold: --threshold, 0.5 unless given)."})
    label_all_tokens: bool = field(default=False, metadata={
        "help": "token_classification: train on every piece of a word, not only its first (predictions are "
                "read on the first piece either way)."})
    class_weights: str | None = field(default=None, metadata={
        "help": "Weigh each class in the training loss, for imbalanced data: 'balanced' (scikit-learn's rule: rows / "
                "(classes x the class's rows); for label sets, each label's negatives over its positives) or "
                "'name=weight,...' (others 1). Every neural step's loss and the linear models' class_weight."})
    no_test: bool = field(default=False, metadata={
        "help": "Score on the validation split and leave the test rows unused: what hyperparameter search trials do, "
                "so that choosing never sees the test set. The record's test figures are then validation figures "
                "(its data fingerprint differs, so a board never mixes them with test results)."})

    def __post_init__(self):
        if self.threshold != 0.5:  # a threshold given is the one to use
            self.tune_threshold = False
        check_options([
            (0 < self.validation_size < 1, f"--validation_size must be between 0 and 1 (got {self.validation_size})"),
            (self.max_train_samples is None or self.max_train_samples >= 1,
             f"--max_train_samples must be at least 1 (got {self.max_train_samples})"),
            (self.max_eval_samples is None or self.max_eval_samples >= 1,
             f"--max_eval_samples must be at least 1 (got {self.max_eval_samples})"),
            (self.missing_text in ("refuse", "drop"), f"--missing_text {self.missing_text!r}: choose refuse or drop"),
            (self.task_type is None or self.task_type in TASK_TYPES,
             f"--task_type {self.task_type!r}: choose {', '.join(TASK_TYPES)}"),
            (0 < self.threshold < 1, f"--threshold must be between 0 and 1 (got {self.threshold})"),
            (self.label_separator is None or self.label_separator.strip() != "",
             "--label_separator must be a visible character, e.g. ',' or '|'"),
            (self.class_weights in (None, "balanced") or "=" in self.class_weights,
             f"--class_weights {self.class_weights!r}: give 'balanced' or name=weight pairs, e.g. 'negative=3'"),
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
    task_type: TaskType = TASK_TYPES["single_label"]
    task_type_from: str = "detected"  # or "given" (--task_type)
    label_info: dict = field(default_factory=dict)  # what the type records of the targets (a regression's range)
    threshold: float = 0.5  # multi_label: --threshold (a run with --tune_threshold records the one it tuned)
    left_out: list[Input] = field(default_factory=list)  # train inputs that --max_train_samples left out
    class_weights: ClassWeights | None = None  # --class_weights, one per class, as the losses use them

    @property
    def tunes_threshold(self) -> bool:
        """Whether decisions are made at a threshold tuned on validation (multi-label, unless one was given)."""
        return "tune_threshold" in self.task_type.options and bool(self.source.get("tune_threshold"))

    def head(self) -> dict:
        """What a transformers config needs to build this task's head (tasks.head_for)."""
        return head_for(self.label_names, self.task_type)

    def describe(self) -> dict:
        """The part of a run record that identifies the data; `evaluation_fingerprint` is the test split's alone."""
        return {"name": self.name, "fingerprint": self.fingerprint,
                "evaluation_fingerprint": fingerprint({"test": self.splits["test"]}, self.label_names),
                "label_names": self.label_names, "task_type": self.task_type.name,
                "task_type_from": self.task_type_from, **({"labels": self.label_info} if self.label_info else {}),
                **({"class_weights": self.class_weights.describe(self.label_names)} if self.class_weights else {}),
                "label_mapping": self.label_mapping, "is_pair": self.is_pair, "source": self.source,
                "sizes": {split: len(rows) for split, rows in self.splits.items()}}
