"""Reading a data set's raw splits: the built-in generator, a folder, files, or the hub; unlabelled text.

Every source returns a DatasetDict keyed by split, columns as the files have them, and the data
set's name; adding a source is one entry in SOURCES.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import datasets
from datasets import Dataset, DatasetDict

from ..errors import UsageError
from ..hub import require_hub
from . import builtin
from ..tasks import task_type
from .spec import DataSpec

SPLIT_STEMS = {"train": ["train"], "validation": ["validation", "valid", "dev", "val"], "test": ["test"]}
BUILDERS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet",
            ".conll": "conll", ".iob2": "conll"}  # conll: a word and its tag per line (read_conll)
TEXT_COLUMNS = ["sentence", "text", "review", "content", "document", "tokens", "words"]

datasets.disable_progress_bars()


def read_splits(spec: DataSpec) -> tuple[DatasetDict, str]:
    """The raw splits `spec` names, and the data set's name: read by the first source that takes it."""
    return next(source for source in SOURCES.values() if source.takes(spec)).read(spec)


@dataclass(frozen=True)
class Source:
    """A kind of data a user can name: whether a DataSpec names it, and how its raw splits are read."""

    takes: Callable[[DataSpec], bool]
    read: Callable[[DataSpec], tuple[DatasetDict, str]]


def _named_files(spec: DataSpec) -> tuple[DatasetDict, str]:
    files = {s: f for s, f in [("train", spec.train_file), ("validation", spec.validation_file),
                               ("test", spec.test_file)] if f}
    return read_files(files), Path(spec.train_file or next(iter(files.values()))).parent.name or "files"


def _folder(spec: DataSpec) -> tuple[DatasetDict, str]:
    path = Path(spec.dataset)
    files = _files_in_folder(path)
    if not files:
        raise UsageError(f"folder '{path}' has no train/validation/test file ending in "
                         f"{'/'.join(BUILDERS)}; name them e.g. train.csv and test.csv")
    return read_files(files), path.resolve().name


def _file(spec: DataSpec) -> tuple[DatasetDict, str]:
    path = Path(spec.dataset)
    if not path.exists():
        raise UsageError(f"data file '{path}' does not exist; check the path")
    return read_files({"train": str(path)}), path.stem


# Tried in this order; the hub takes any name the others do not.
SOURCES: dict[str, Source] = {
    "files": Source(lambda spec: bool(spec.train_file or spec.validation_file or spec.test_file), _named_files),
    "builtin": Source(lambda spec: spec.dataset == "builtin", lambda spec: (
        getattr(builtin, task_type(spec.task_type).builtin)(spec.data_seed), task_type(spec.task_type).builtin_name)),
    "folder": Source(lambda spec: Path(spec.dataset).is_dir(), _folder),
    "file": Source(lambda spec: Path(spec.dataset).suffix in BUILDERS or Path(spec.dataset).exists(), _file),
    "hub": Source(lambda spec: True, lambda spec: (
        _load_hub(spec), spec.dataset + (f"/{spec.dataset_config}" if spec.dataset_config else ""))),
}


def _files_in_folder(folder: Path) -> dict[str, str]:
    found = {}
    for split, stems in SPLIT_STEMS.items():
        for stem in stems:
            for suffix in BUILDERS:
                if (folder / f"{stem}{suffix}").is_file() and split not in found:
                    found[split] = str(folder / f"{stem}{suffix}")
    return found


def read_files(files: dict[str, str]) -> DatasetDict:
    """Split name -> file path, read with datasets' builders; every problem a user can fix is one line."""
    suffixes = set()
    for split, name in files.items():
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"{split} file '{name}' does not exist; check the path")
        if path.suffix not in BUILDERS:
            raise UsageError(f"{split} file '{name}' has an unknown format; use one of {', '.join(BUILDERS)}")
        if path.suffix != ".parquet":
            check_utf8(path)
        suffixes.add(path.suffix)
    if len({BUILDERS[s] for s in suffixes}) > 1 or suffixes == {".csv", ".tsv"}:
        raise UsageError(f"split files mix formats ({', '.join(sorted(suffixes))}); give them all in one format")
    suffix = suffixes.pop()
    options = {"sep": "\t", "quoting": 3} if suffix == ".tsv" else {}
    loaded = DatasetDict()
    for split, name in files.items():  # one by one, so that an empty file is named as such
        if BUILDERS[suffix] == "conll":
            loaded[split] = read_conll(Path(name))
            continue
        try:
            loaded[split] = datasets.load_dataset(BUILDERS[suffix], data_files={split: name}, split=split, **options)
        except (ValueError, datasets.exceptions.DatasetGenerationError) as error:
            if "corresponds to no data" in str(error):
                loaded[split] = Dataset.from_dict({})
            else:
                raise UsageError(f"could not read {split} file '{name}': {str(error).splitlines()[0]}") from None
    return loaded


def read_conll(path: Path) -> Dataset:
    """A CoNLL-style column file as rows of `tokens` and `ner_tags`: one word a line, its first column the word
    and its last the tag, a blank line between sentences; '-DOCSTART-' lines are document marks, not words."""
    rows: dict[str, list] = {"tokens": [], "ner_tags": []}
    words: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines() + [""], start=1):
        columns = line.split()
        if columns and columns[0] == "-DOCSTART-":
            continue
        if not columns:
            if words:
                rows["tokens"].append([w for w, _ in words])
                rows["ner_tags"].append([t for _, t in words])
                words = []
            continue
        if len(columns) < 2:
            raise UsageError(f"file '{path}' line {number} has a word and no tag ({line.strip()!r}); each line "
                             "holds a word, optional columns, and its tag, separated by spaces or tabs")
        words.append((columns[0], columns[-1]))
    return Dataset.from_dict(rows)


def check_utf8(path: Path) -> None:
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


def load_texts(path: str, column: str | None = None, *, flag: str = "--unlabeled_column") -> list[str]:
    """Unlabelled texts: a .txt file (one a line) or a column of a csv/tsv/json/jsonl/parquet file.

    `flag` is the option that names the column, for the error message.
    """
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"unlabelled file '{path}' does not exist; check the path")
    if file.suffix in ("", ".txt"):
        check_utf8(file)
        return [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = read_files({"unlabeled": path})["unlabeled"]
    name = column or next((c for c in TEXT_COLUMNS if c in rows.column_names), None)
    if name not in rows.column_names:
        raise UsageError(f"unlabelled file '{path}' has no column {column!r}; its columns are: "
                         f"{', '.join(rows.column_names)}; name one with {flag}")
    return [text.strip() for text in rows[name] if isinstance(text, str) and text.strip()]
