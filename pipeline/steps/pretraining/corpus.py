"""Unlabelled text for pretraining, named like a data set: `builtin`, a text file, a column of a data
file, a folder of them, or a hub data set (with a network)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

from ...harness.data import BUILDERS, TEXT_COLUMNS, load_hub, load_texts
from ...harness.data.builtin import unlabeled_sentences
from ...harness.errors import UsageError, check_options


@dataclass
class CorpusSpec:
    corpus: str = field(default="builtin", metadata={
        "help": "'builtin' (sentences from the built-in generator: never a test sentence, never a held-out "
                "pairing), a .txt file (one text a line), a csv/tsv/json/jsonl/parquet file, a folder of such "
                "files, or a hub data set name"})
    corpus_column: str | None = field(default=None, metadata={
        "help": "Text column of data files or hub sets (default: sentence/text/review/content/document)."})
    corpus_config: str | None = field(default=None, metadata={"help": "Hub data set config."})
    corpus_size: int = field(default=50000, metadata={
        "help": "builtin: sentences generated; other sources: at most this many texts (in file order)."})
    held_out: int = field(default=1000, metadata={
        "help": "Texts kept apart for held-out perplexity (at most a tenth of the corpus)."})
    corpus_seed: int = field(default=0, metadata={
        "help": "Seed of the held-out draw and of the built-in generator (keep it equal to the fine-tune's "
                "--data_seed, so the corpus holds none of its test sentences)."})

    def __post_init__(self):
        check_options([
            (self.corpus_size >= 2, f"--corpus_size must be at least 2 (got {self.corpus_size})"),
            (self.held_out >= 1, f"--held_out must be at least 1 (got {self.held_out})"),
        ])


@dataclass
class Corpus:
    train: list[str]
    held_out: list[str]
    name: str
    fingerprint: str
    source: dict

    def describe(self) -> dict:
        """The part of a run record that identifies the text, shaped like a task's."""
        return {"name": self.name, "fingerprint": self.fingerprint, "evaluation_fingerprint": None,
                "label_names": [], "source": self.source,
                "sizes": {"train": len(self.train), "held_out": len(self.held_out)}}


def load_corpus(spec: CorpusSpec) -> Corpus:
    texts, name = _read(spec)
    texts = list(dict.fromkeys(t for t in texts if t.strip()))[:spec.corpus_size]
    count = min(spec.held_out, len(texts) // 10)
    if count < 1:
        raise UsageError(f"corpus '{name}' has {len(texts)} distinct texts, too few to keep a tenth apart for "
                         "perplexity; give at least 10")
    order = list(range(len(texts)))
    random.Random(spec.corpus_seed).shuffle(order)
    held = sorted(order[:count])
    keep = sorted(order[count:])
    digest = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()[:16]
    source = {k: v for k, v in vars(spec).items() if v is not None}
    return Corpus([texts[i] for i in keep], [texts[i] for i in held], name, digest, source)


def _read(spec: CorpusSpec) -> tuple[list[str], str]:
    if spec.corpus == "builtin":
        return unlabeled_sentences(spec.corpus_seed, spec.corpus_size), "builtin"
    path = Path(spec.corpus)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".txt", *BUILDERS))
        if not files:
            raise UsageError(f"corpus folder '{path}' has no .txt or {'/'.join(BUILDERS)} file")
        return [t for f in files for t in load_texts(str(f), spec.corpus_column, flag="--corpus_column")], path.resolve().name
    if path.exists() or path.suffix in (".txt", *BUILDERS):
        return load_texts(str(path), spec.corpus_column, flag="--corpus_column"), path.stem
    splits = load_hub(spec.corpus, spec.corpus_config,
                      instead="give a .txt file, a data file, a folder, or use --corpus builtin")
    rows = splits["train"] if "train" in splits else next(iter(splits.values()))
    column = spec.corpus_column or next((c for c in TEXT_COLUMNS if c in rows.column_names), None)
    if column not in rows.column_names:
        raise UsageError(f"hub corpus '{spec.corpus}' has no text column {column!r}; its columns are: "
                         f"{', '.join(rows.column_names)}; name one with --corpus_column")
    return [t for t in rows.select(range(min(len(rows), spec.corpus_size)))[column] if isinstance(t, str)], spec.corpus
