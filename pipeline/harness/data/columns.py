"""Which columns hold the text, the pair and the label; rows without text."""

from __future__ import annotations

from datasets import DatasetDict, List

from ..errors import UsageError
from .sources import TEXT_COLUMNS
from .spec import DataSpec

PAIR_COLUMNS = [("sentence1", "sentence2"), ("premise", "hypothesis"), ("question", "sentence"),
                ("question1", "question2")]
LABEL_COLUMNS = ["label", "labels", "ner_tags", "tags"]
WORD_COLUMNS = ["tokens", "words"]  # lists of words, tagged one by one when the label column is a list too


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
    features = next(iter(raw.values())).features
    words = next((c for c in WORD_COLUMNS if c in columns and isinstance(features[c], List)), None)
    if not spec.text_column and words and isinstance(features[label], List):  # a tag per word, whatever else
        return words, None, label
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
