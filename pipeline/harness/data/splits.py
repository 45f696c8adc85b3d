"""Missing splits carved out of train, and the fingerprint that says which rows a run saw."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from datasets import DatasetDict

from ..errors import UsageError

if TYPE_CHECKING:  # spec.py imports this module for Task's fingerprint
    from .spec import DataSpec


def complete_splits(splits: DatasetDict, spec: DataSpec, *, stratify: bool) -> DatasetDict:
    """Carve a missing validation (then test) split out of train, seeded, and stratified by label where the
    task type's labels are classes."""
    for split in ("test", "validation"):
        if split not in splits:
            try:
                parts = splits["train"].train_test_split(test_size=spec.validation_size, seed=spec.data_seed,
                                                         stratify_by_column="label" if stratify else None)
            except ValueError as error:
                raise UsageError(f"the train split ({len(splits['train'])} rows) is too small to carve a {split} "
                                 f"split from ({str(error).splitlines()[0]}); give more rows or a {split} file") from None
            splits["train"], splits[split] = parts["train"], parts["test"]
    return DatasetDict({split: splits[split] for split in ("train", "validation", "test")})


def fingerprint(splits, label_names: list[str]) -> str:
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
