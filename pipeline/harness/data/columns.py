"""Which columns hold the text, the pair and the label; labels made class ids; rows without text."""

from __future__ import annotations

from datasets import ClassLabel, DatasetDict

from ..errors import UsageError
from .sources import TEXT_COLUMNS
from .spec import DataSpec

PAIR_COLUMNS = [("sentence1", "sentence2"), ("premise", "hypothesis"), ("question", "sentence"),
                ("question1", "question2")]
LABEL_COLUMNS = ["label", "labels"]


def find_columns(raw: DatasetDict, spec: DataSpec) -> tuple[str, str | None, str]:
    """The text, text-pair (or None) and label columns: named by the user, or found among the usual names."""
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


def normalise_labels(splits: DatasetDict, label: str, spec: DataSpec) -> tuple[DatasetDict, list[str], dict]:
    """Labels as a ClassLabel of ids 0..n-1 in every split, their names, and raw value -> id."""
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


def missing_text(splits: DatasetDict, policy: str) -> tuple[DatasetDict, dict[str, int]]:
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
