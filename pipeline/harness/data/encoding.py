"""Tokenised rows for models, their lengths (for batching by length), and rows as single texts."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict
from datasets.fingerprint import Hasher
from transformers import PreTrainedTokenizerBase

from .. import tasks
from ..tasks import TASK_TYPES

# datasets caches each map by a hash of its inputs, which does not see a task type's code: the module's own text
# goes into the key, so rows encoded by another version of it are never read back (a resumed run after an upgrade).
ENCODING_CODE = Path(tasks.__file__).read_bytes() + Path(__file__).read_bytes()

PAIR_SEPARATOR = " ||| "


def encode(task, tokenizer, max_length: int) -> DatasetDict:
    """Tokenize every split (cached by datasets); padding is left to the collator, per batch."""
    return DatasetDict({split: encode_rows(rows, tokenizer, max_length, kind=task.task_type,
                                           all_pieces=bool(task.source.get("label_all_tokens")))
                        for split, rows in task.splits.items()})


def encode_rows(rows: Dataset, tokenizer, max_length: int, *, kind=None, all_pieces: bool = False) -> Dataset:
    """Rows with `text` (and `text_pair`) and `label` -> the model's inputs and `labels`, as the task type
    (default: one label per text) tokenizes them: rows of words also get `word_starts`."""
    kind = kind or TASK_TYPES["single_label"]
    keep = {*tokenizer.model_input_names, "label", "word_starts"}
    # A tokenizer this project defines (the biLM's words-and-characters inputs) keys the cache by its code too.
    own = b"" if isinstance(tokenizer, PreTrainedTokenizerBase) else Path(inspect.getfile(type(tokenizer))).read_bytes()
    key = Hasher.hash([rows._fingerprint, ENCODING_CODE, own, kind.name, tokenizer, max_length, all_pieces])
    encoded = rows.map(lambda batch: kind.tokenize(batch, tokenizer, max_length, all_pieces=all_pieces),
                       batched=True, new_fingerprint=key)
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


Input = tuple[str, str | None]  # (text, text_pair), the pair None for single texts


def row_inputs(rows: Dataset) -> list[Input]:
    """Each row's (text, text_pair), the pair None where the data has single texts."""
    pairs = rows["text_pair"] if "text_pair" in rows.column_names else [None] * len(rows)
    return list(zip(rows["text"], pairs))


def joined_texts(rows: Dataset) -> list[str]:
    """One string per row, for models that read a single text and for predictors (a pair is joined by ' ||| ')."""
    if "text_pair" in rows.column_names:
        return [f"{a}{PAIR_SEPARATOR}{b}" for a, b in zip(rows["text"], rows["text_pair"])]
    return list(rows["text"])


def tokenize_texts(tokenizer, texts: list[str], **options):
    """A tokenizer's batch for texts as predictors take them: sentence pairs joined by joined_texts are split
    back and encoded as pairs, the way encode_rows gave them to the model in training."""
    parts = [text.split(PAIR_SEPARATOR, 1) for text in texts]
    if isinstance(tokenizer, PreTrainedTokenizerBase) and texts and all(len(p) == 2 for p in parts):
        return tokenizer([a for a, _ in parts], [b for _, b in parts], **options)
    return tokenizer(texts, **options)
