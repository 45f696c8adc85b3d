"""One way to name a data set for every recipe: `builtin`, a folder or files on disk, or a hub name.

Whatever the source, a `Task` comes back with the same shape: splits train/validation/test with a
`text` column (plus `text_pair` for sentence pairs), an integer `label` ClassLabel, and, for the
built-in set, the `phenomenon` that decides each label.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import datasets
import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict

from ..errors import UsageError, check_options
from ..hub import require_hub
from .builtin import build_builtin

TEXT_COLUMNS = ["sentence", "text", "review", "content", "document"]
PAIR_COLUMNS = [("sentence1", "sentence2"), ("premise", "hypothesis"), ("question", "sentence"),
                ("question1", "question2")]
LABEL_COLUMNS = ["label", "labels"]
SPLIT_STEMS = {"train": ["train"], "validation": ["validation", "valid", "dev", "val"], "test": ["test"]}
BUILDERS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}

datasets.disable_progress_bars()


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
    left_out: list[str] = field(default_factory=list)  # train texts that --max_train_samples left out

    def describe(self) -> dict:
        """The part of a run record that identifies the data; `evaluation_fingerprint` is the test split's alone."""
        return {"name": self.name, "fingerprint": self.fingerprint,
                "evaluation_fingerprint": _fingerprint({"test": self.splits["test"]}, self.label_names),
                "label_names": self.label_names,
                "label_mapping": self.label_mapping, "is_pair": self.is_pair, "source": self.source,
                "sizes": {split: len(rows) for split, rows in self.splits.items()}}


def load_task(spec: DataSpec) -> Task:
    """Load, validate and normalise a data set; every problem a user can fix raises UsageError."""
    raw, name = _load_raw(spec)
    text, pair, label = _find_columns(raw, spec)
    splits = DatasetDict({split: rows for split, rows in raw.items() if split in SPLIT_STEMS})
    if "train" not in splits:
        raise UsageError(f"data set '{name}' has no train split (found: {', '.join(raw) or 'none'}); "
                         "give --train_file or a folder with a train file")
    for split, rows in splits.items():
        if len(rows) == 0:
            raise UsageError(f"the {split} split of '{name}' is empty; give a file with at least one row")
    splits, label_names, mapping = _normalise_labels(splits, label, spec)
    keep = {text: "text", label: "label", **({pair: "text_pair"} if pair else {})}
    splits = DatasetDict({
        split: rows.select_columns([c for c in rows.column_names if c in keep or c == "phenomenon"])
        .rename_columns({old: new for old, new in keep.items() if old != new})
        for split, rows in splits.items()
    })
    splits, dropped = _missing_text(splits, spec.missing_text)
    splits = _complete_splits(splits, spec)
    left_out = []
    if spec.max_train_samples:
        train = splits["train"].shuffle(seed=spec.data_seed)
        kept = min(spec.max_train_samples, len(train))
        splits["train"] = train.select(range(kept))
        left_out = joined_texts(train.select(range(kept, len(train)))) if kept < len(train) else []
    if spec.max_eval_samples:
        for split in ("validation", "test"):
            splits[split] = splits[split].select(range(min(spec.max_eval_samples, len(splits[split]))))
    source = {k: v for k, v in asdict(spec).items() if v is not None}
    if dropped:
        source["dropped_missing_text"] = dropped
    return Task(splits, name, label_names, mapping, pair is not None, _fingerprint(splits, label_names), source,
                left_out)


def _load_raw(spec: DataSpec) -> tuple[DatasetDict, str]:
    if spec.train_file or spec.validation_file or spec.test_file:
        files = {s: f for s, f in [("train", spec.train_file), ("validation", spec.validation_file),
                                   ("test", spec.test_file)] if f}
        return _load_files(files), Path(spec.train_file or next(iter(files.values()))).parent.name or "files"
    if spec.dataset == "builtin":
        return build_builtin(spec.data_seed), "builtin"
    path = Path(spec.dataset)
    if path.is_dir():
        files = _files_in_folder(path)
        if not files:
            raise UsageError(f"folder '{path}' has no train/validation/test file ending in "
                             f"{'/'.join(BUILDERS)}; name them e.g. train.csv and test.csv")
        return _load_files(files), path.resolve().name
    if path.suffix in BUILDERS or path.exists():
        if not path.exists():
            raise UsageError(f"data file '{path}' does not exist; check the path")
        return _load_files({"train": str(path)}), path.stem
    return _load_hub(spec), spec.dataset + (f"/{spec.dataset_config}" if spec.dataset_config else "")


def _files_in_folder(folder: Path) -> dict[str, str]:
    found = {}
    for split, stems in SPLIT_STEMS.items():
        for stem in stems:
            for suffix in BUILDERS:
                if (folder / f"{stem}{suffix}").is_file() and split not in found:
                    found[split] = str(folder / f"{stem}{suffix}")
    return found


def _load_files(files: dict[str, str]) -> DatasetDict:
    suffixes = set()
    for split, name in files.items():
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"{split} file '{name}' does not exist; check the path")
        if path.suffix not in BUILDERS:
            raise UsageError(f"{split} file '{name}' has an unknown format; use one of {', '.join(BUILDERS)}")
        if path.suffix != ".parquet":
            _check_utf8(path)
        suffixes.add(path.suffix)
    if len({BUILDERS[s] for s in suffixes}) > 1 or suffixes == {".csv", ".tsv"}:
        raise UsageError(f"split files mix formats ({', '.join(sorted(suffixes))}); give them all in one format")
    suffix = suffixes.pop()
    options = {"sep": "\t", "quoting": 3} if suffix == ".tsv" else {}
    loaded = DatasetDict()
    for split, name in files.items():  # one by one, so that an empty file is named as such
        try:
            loaded[split] = datasets.load_dataset(BUILDERS[suffix], data_files={split: name}, split=split, **options)
        except (ValueError, datasets.exceptions.DatasetGenerationError) as error:
            if "corresponds to no data" in str(error):
                loaded[split] = Dataset.from_dict({})
            else:
                raise UsageError(f"could not read {split} file '{name}': {str(error).splitlines()[0]}") from None
    return loaded


def _check_utf8(path: Path) -> None:
    with path.open("rb") as handle:
        data = handle.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(f"file '{path}' is not UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}); "
                         "re-save it as UTF-8") from None


def _load_hub(spec: DataSpec) -> DatasetDict:
    return load_hub(spec.dataset, spec.dataset_config,
                    instead="give a local folder or file (csv/tsv/json/parquet) or use --dataset builtin")


def load_hub(name: str, config: str | None = None, *, instead: str) -> DatasetDict:
    """A hub data set, or one line saying why not (`instead`: what to use without a network)."""
    require_hub("data set", name, instead)
    try:
        return datasets.load_dataset(name, config)
    except Exception as error:  # the hub raises many types; the user needs the one line
        raise UsageError(f"could not load hub data set '{name}': {str(error).splitlines()[0]}") from None


def _find_columns(raw: DatasetDict, spec: DataSpec) -> tuple[str, str | None, str]:
    empty = [split for split, rows in raw.items() if len(rows) == 0]
    if empty:
        raise UsageError(f"the {empty[0]} split has no rows (an empty file, or a header only); "
                         "give it rows of text and label")
    columns = next(iter(raw.values())).column_names
    listed = ", ".join(columns)

    def check(name: str, role: str) -> str:
        if name not in columns:
            raise UsageError(f"{role} column '{name}' not found; the columns are: {listed}")
        return name

    label = check(spec.label_column, "label") if spec.label_column else next(
        (c for c in LABEL_COLUMNS if c in columns), None)
    if label is None:
        raise UsageError(f"no label column found among: {listed}; name it with --label_column")
    if spec.text_column:
        text = check(spec.text_column, "text")
        pair = check(spec.text_pair_column, "text pair") if spec.text_pair_column else None
        return text, pair, label
    for first, second in PAIR_COLUMNS:
        if first in columns and second in columns:
            return first, second, label
    text = next((c for c in TEXT_COLUMNS if c in columns), None)
    if text is None:
        raise UsageError(f"no text column found among: {listed}; name it with --text_column")
    return text, None, label


def _normalise_labels(splits: DatasetDict, label: str, spec: DataSpec):
    feature = splits["train"].features[label]
    if isinstance(feature, ClassLabel):
        names = list(feature.names)
        mapping = {name: i for i, name in enumerate(names)}
        values = {split: rows[label] for split, rows in splits.items()}
    else:
        values = {split: rows[label] for split, rows in splits.items()}
        for split, column in values.items():
            if any(v is None for v in column):
                raise UsageError(f"the {split} split has rows with no label in column '{label}'; fill or drop them")
        kinds = {type(v) for column in values.values() for v in column}
        if kinds - {int, str, bool}:
            raise UsageError(f"label column '{label}' holds {', '.join(k.__name__ for k in kinds)}; "
                             "labels must be integers or strings")
        observed = sorted(set(values["train"]), key=lambda v: (isinstance(v, str), v))
        mapping = {str(v): i for i, v in enumerate(observed)}
        names = [str(v) for v in observed]
        if spec.label_names:
            given = [n.strip() for n in spec.label_names.split(",")]
            if observed != list(range(len(given))):
                raise UsageError(f"--label_names gives {len(given)} names but the training labels are "
                                 f"{names}; give one name per integer label 0..n-1")
            names = given
    if len(set(values["train"])) < 2:
        raise UsageError(f"the train split has a single class ({values['train'][0]}); "
                         "a classifier needs at least two")
    for split, column in values.items():
        unknown = [] if isinstance(feature, ClassLabel) else sorted({str(v) for v in column} - set(mapping))
        if unknown:
            raise UsageError(f"the {split} split has labels {unknown[:5]} that the train split does not have "
                             f"({', '.join(mapping)}); fix the labels or the files")
    target = ClassLabel(names=names)

    def encode(batch):
        return {label: [v if isinstance(feature, ClassLabel) else mapping[str(v)] for v in batch[label]]}

    new_features = {split: rows.features.copy() for split, rows in splits.items()}
    out = DatasetDict()
    for split, rows in splits.items():
        new_features[split][label] = target
        out[split] = rows.map(encode, batched=True, features=new_features[split])
    return out, names, mapping


def _missing_text(splits: DatasetDict, policy: str) -> tuple[DatasetDict, dict[str, int]]:
    """Rows with no text (empty cells): refused with where they are, or dropped and counted."""
    dropped = {}
    for split, rows in splits.items():
        columns = [c for c in ("text", "text_pair") if c in rows.column_names]
        bad = [i for i, row in enumerate(zip(*(rows[c] for c in columns)))
               if any(not isinstance(t, str) or not t.strip() for t in row)]
        if not bad:
            continue
        if policy == "refuse":
            where = ", ".join(str(i + 2) for i in bad[:5]) + (" ..." if len(bad) > 5 else "")
            raise UsageError(f"the {split} split has {len(bad)} row(s) with no text (file lines {where}); "
                             "fill them, or pass --missing_text drop to leave them out")
        keep = sorted(set(range(len(rows))) - set(bad))
        splits[split], dropped[split] = rows.select(keep), len(bad)
        if not keep:
            raise UsageError(f"the {split} split has no row with text; give a file with text in it")
    return splits, dropped


def _complete_splits(splits: DatasetDict, spec: DataSpec) -> DatasetDict:
    """Carve a missing validation (then test) split out of train, stratified and seeded."""
    for split in ("test", "validation"):
        if split not in splits:
            try:
                parts = splits["train"].train_test_split(test_size=spec.validation_size, seed=spec.data_seed,
                                                         stratify_by_column="label")
            except ValueError as error:
                raise UsageError(f"the train split ({len(splits['train'])} rows) is too small to carve a {split} "
                                 f"split from ({str(error).splitlines()[0]}); give more rows or a {split} file") from None
            splits["train"], splits[split] = parts["train"], parts["test"]
    return DatasetDict({split: splits[split] for split in ("train", "validation", "test")})


def _fingerprint(splits, label_names: list[str]) -> str:
    """A digest of the texts and labels of `splits` (and of the label names), in order."""
    digest = hashlib.sha256("\x1f".join(label_names).encode())
    for split in ("train", "validation", "test"):
        if split not in splits:
            continue
        rows = splits[split]
        digest.update(split.encode())
        for column in ("text", "text_pair", "label"):
            if column in rows.column_names:
                digest.update("\x1e".join(map(str, rows[column])).encode())
    return digest.hexdigest()[:16]


def encode(task: Task, tokenizer, max_length: int) -> DatasetDict:
    """Tokenize every split (cached by datasets); padding is left to the collator, per batch."""
    return DatasetDict({split: encode_rows(rows, tokenizer, max_length) for split, rows in task.splits.items()})


def encode_rows(rows: Dataset, tokenizer, max_length: int) -> Dataset:
    """Rows with `text` (and `text_pair`) and `label` -> the model's inputs and `labels`."""

    def tokenize(batch):
        return tokenizer(batch["text"], batch.get("text_pair"), truncation=True, max_length=max_length)

    keep = {*tokenizer.model_input_names, "label"}
    encoded = rows.map(tokenize, batched=True)
    return encoded.remove_columns([c for c in encoded.column_names if c not in keep]).rename_column("label", "labels")


def length_order(rows: Dataset) -> np.ndarray:
    """Row indices from shortest to longest in tokens (rows without `input_ids` keep their order).

    Batches of neighbours in this order pad to lengths close to their own, so evaluation skips the
    work that padding to a batch's longest row would cost.
    """
    return np.argsort(token_counts(rows), kind="stable")


def token_counts(rows: Dataset) -> np.ndarray:
    """Tokens in each encoded row (0s for rows without `input_ids`: all of one length)."""
    if "input_ids" not in rows.column_names:
        return np.zeros(len(rows), dtype=np.int64)
    return np.asarray([len(ids) for ids in rows["input_ids"]], dtype=np.int64)


def joined_texts(rows: Dataset) -> list[str]:
    """One string per row, for models that read a single text (a pair is joined by ' ||| ')."""
    if "text_pair" in rows.column_names:
        return [f"{a} ||| {b}" for a, b in zip(rows["text"], rows["text_pair"])]
    return list(rows["text"])


def load_texts(path: str, column: str | None = None, *, flag: str = "--unlabeled_column") -> list[str]:
    """Unlabelled texts: a .txt file (one a line) or a column of a csv/tsv/json/jsonl/parquet file.

    `flag` is the option that names the column, for the error message.
    """
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"unlabelled file '{path}' does not exist; check the path")
    if file.suffix in ("", ".txt"):
        _check_utf8(file)
        return [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = _load_files({"unlabeled": path})["unlabeled"]
    name = column or next((c for c in TEXT_COLUMNS if c in rows.column_names), None)
    if name not in rows.column_names:
        raise UsageError(f"unlabelled file '{path}' has no column {column!r}; its columns are: "
                         f"{', '.join(rows.column_names)}; name one with {flag}")
    return [text.strip() for text in rows[name] if isinstance(text, str) and text.strip()]
