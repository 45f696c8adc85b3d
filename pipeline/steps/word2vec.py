"""Word2Vec with gensim: CBOW and skip-gram vectors, gensim's own evaluations, and a classifier on top.

A sentence becomes the mean (or TF-IDF-weighted mean) of its word vectors: word meaning without
word order, the step between counting words and reading them in context.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import json

import skops.io
import numpy as np
from gensim.models import KeyedVectors, Word2Vec
from gensim.test.utils import datapath
from gensim.utils import simple_preprocess

from ..harness.errors import UsageError
from ..harness.tasks import TaskType, task_type
from .ngrams import linear_parameters


VECTORS = "vectors.bin"  # word2vec binary format

@dataclass
class Word2VecConfig:
    architecture: str = field(default="cbow", metadata={"help": "cbow or skipgram."})
    vector_size: int = field(default=100, metadata={"help": "Dimensions of a word vector."})
    window: int = field(default=5, metadata={"help": "Context words on each side."})
    negative: int = field(default=5, metadata={"help": "Negative samples per positive one."})
    min_count: int = field(default=2, metadata={"help": "Ignore words rarer than this."})
    w2v_epochs: int = field(default=10, metadata={"help": "Passes over the corpus."})
    workers: int = field(default=2, metadata={"help": "Training threads."})
    corpus: str | None = field(default=None, metadata={"help": "Extra unlabeled text, one sentence a line."})
    pretrained: str | None = field(default=None, metadata={
        "help": "Load vectors in word2vec format (.txt text, .bin binary) instead of training."})
    weighting: str = field(default="mean", metadata={"help": "Sentence vector: mean or tfidf-weighted mean."})
    neighbors: list[str] = field(default_factory=list, metadata={"help": "Words whose nearest neighbours to show."})
    analogy: list[str] = field(default_factory=list, metadata={
        "help": "Analogies a:b::c:? written 'king,man,woman' (king - man + woman)."})
    seed: int = field(default=42, metadata={"help": "Seed of the vectors and the classifier."})


def words(text: str) -> list[str]:
    return simple_preprocess(text, min_len=1, max_len=30)


def check(config: Word2VecConfig) -> None:
    """Every option a user can get wrong, before anything is trained or written."""
    if config.architecture not in ("cbow", "skipgram"):
        raise UsageError(f"--architecture {config.architecture!r}: choose cbow or skipgram")
    if config.weighting not in ("mean", "tfidf"):
        raise UsageError(f"--weighting {config.weighting!r}: choose mean or tfidf")
    if config.corpus and not Path(config.corpus).is_file():
        raise UsageError(f"--corpus '{config.corpus}' does not exist")
    if config.pretrained and not Path(config.pretrained).is_file():
        raise UsageError(f"--pretrained '{config.pretrained}' does not exist; give a word2vec .txt or .bin file")
    for text in config.analogy:
        if len([w for w in text.split(",") if w.strip()]) != 3:
            raise UsageError(f"--analogy {text!r}: write three words, e.g. 'king,man,woman' for king - man + woman")


def train_vectors(texts: list[str], config: Word2VecConfig) -> tuple[KeyedVectors, dict]:
    """Vectors trained on `texts` (plus the optional corpus file); also returns words/second."""
    sentences = [words(t) for t in texts]
    if config.corpus:
        path = Path(config.corpus)
        sentences += [words(line) for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    model = Word2Vec(vector_size=config.vector_size, window=config.window, negative=config.negative,
                     min_count=config.min_count, sg=int(config.architecture == "skipgram"), workers=config.workers,
                     seed=config.seed)
    model.build_vocab(sentences)
    start = time.perf_counter()
    _, raw_words = model.train(sentences, total_examples=len(sentences), epochs=config.w2v_epochs)
    seconds = time.perf_counter() - start
    return model.wv, {"train_seconds": seconds, "words_per_second": raw_words / seconds,
                      "corpus_sentences": len(sentences)}


def load_vectors(path: str) -> KeyedVectors:
    """Vectors in word2vec's text (.txt) or binary (.bin) format, or those of a word2vec run folder."""
    run_vectors = Path(path) / "model" / VECTORS
    if run_vectors.is_file():
        path = str(run_vectors)
    if not Path(path).is_file():
        raise UsageError(f"vectors '{path}' not found; give a word2vec run folder or a word2vec .txt/.bin file")
    try:
        return KeyedVectors.load_word2vec_format(path, binary=path.endswith(".bin"))
    except (ValueError, UnicodeDecodeError, EOFError) as error:
        raise UsageError(f"vectors '{path}' are not in word2vec format: {error}") from None


def evaluate_vectors(vectors: KeyedVectors) -> dict:
    """gensim's own benchmarks on the files it ships; on a small corpus most words are out of vocabulary."""
    analogy_file = datapath("questions-words.txt")
    questions = [line.lower().split() for line in Path(analogy_file).read_text().splitlines()
                 if line and not line.startswith(":")]
    known = sum(all(w in vectors.key_to_index for w in q) for q in questions)
    score, _ = vectors.evaluate_word_analogies(analogy_file, case_insensitive=True)
    out = {"analogies": {"accuracy": float(score), "questions": len(questions),
                         "oov_ratio": 1 - known / len(questions)}}
    for name, file in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")):
        try:
            pearson, spearman, oov = vectors.evaluate_word_pairs(datapath(file), case_insensitive=True)
            out[name] = {"pearson": _number(pearson[0]), "spearman": _number(spearman[0]), "oov_ratio": oov / 100}
        except ValueError:  # gensim's answer when every pair is out of vocabulary
            out[name] = {"pearson": None, "spearman": None, "oov_ratio": 1.0}
    return out


def _number(value) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def queries(vectors: KeyedVectors, neighbors: list[str], analogies: list[str]) -> dict:
    """Nearest neighbours of words, and a - b + c analogies; unknown words are reported, not fatal."""
    out = {"neighbors": {}, "analogies": {}}
    for word in neighbors:
        out["neighbors"][word] = (vectors.most_similar(word.lower(), topn=8) if word.lower() in vectors
                                  else "not in the vocabulary")
    for text in analogies:
        parts = [w.strip().lower() for w in text.split(",") if w.strip()]
        missing = [w for w in parts if w not in vectors]
        out["analogies"][text] = (f"not in the vocabulary: {', '.join(missing)}" if missing else
                                  vectors.most_similar(positive=[parts[0], parts[2]], negative=[parts[1]], topn=5))
    return out


class VectorClassifier:
    """The task type's linear model (logistic regression, one-vs-rest, ridge) over (TF-IDF-weighted) averaged
    word vectors."""

    def __init__(self, vectors: KeyedVectors, kind: TaskType, weighting: str = "mean", *, classifier=None):
        """`classifier`: the task type's linear model as the recipe built it (default: logistic regression)."""
        self.vectors, self.kind, self.weighting, self.idf = vectors, kind, weighting, {}
        self.classifier = kind.linear_model("logreg", 1.0, 0) if classifier is None else classifier

    def features(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.vectors.vector_size), dtype=np.float32)
        for i, text in enumerate(texts):
            known = [w for w in words(text) if w in self.vectors.key_to_index]
            if known:
                weights = np.array([self.idf.get(w, 1.0) if self.weighting == "tfidf" else 1.0 for w in known])
                out[i] = weights @ self.vectors[known] / weights.sum()
        return out

    def fit(self, texts: list[str], labels) -> "VectorClassifier":
        documents = Counter(w for t in texts for w in set(words(t)))
        self.idf = {w: math.log((1 + len(texts)) / (1 + n)) + 1 for w, n in documents.items()}
        self.classifier.fit(self.features(texts), labels)
        return self

    def outputs(self, texts: list[str]) -> np.ndarray:
        return self.kind.linear_outputs(self.classifier, self.features(texts))

    def describe(self, *, name: str) -> dict:
        """What the run record keeps: parameters are vectors plus classifier; `class` is the predictor's key."""
        parameters = self.vectors.vectors.size + linear_parameters(self.classifier)
        return {"name": name, "family": "word2vec", "class": "word2vec", "parameters": int(parameters),
                "not_in_pipeline": "it is gensim word vectors (`vectors.bin`) under a scikit-learn classifier "
                                   "(`classifier.skops`)",
                "vocabulary": len(self.vectors.key_to_index), "vector_size": self.vectors.vector_size}

    def save(self, folder: Path) -> None:
        """Formats that run no code on load: word2vec's binary format, skops, JSON."""
        self.vectors.save_word2vec_format(str(folder / VECTORS), binary=True)
        skops.io.dump(self.classifier, folder / "classifier.skops")
        (folder / "classifier.json").write_text(json.dumps({"idf": self.idf, "weighting": self.weighting,
                                                            "task_type": self.kind.name}))

    @classmethod
    def load(cls, folder: Path) -> "VectorClassifier":
        state = json.loads((folder / "classifier.json").read_text())
        model = cls(load_vectors(str(folder / VECTORS)), task_type(state.get("task_type")), state["weighting"])
        model.classifier, model.idf = load_sklearn(folder / "classifier.skops"), state["idf"]
        return model


# scikit-learn's own stand-in for a label that is always or never on in a one-vs-rest fit; the window tagger's
# feature maker (a class of this package: loading it runs no code from the file).
TRUSTED = ["sklearn.multiclass._ConstantPredictor", "pipeline.steps.ngrams.WindowFeatures"]


def load_sklearn(path: Path):
    """A scikit-learn object saved with skops: types outside skops' trusted defaults (and TRUSTED) are refused."""
    untrusted = [name for name in skops.io.get_untrusted_types(file=path) if name not in TRUSTED]
    if untrusted:
        raise UsageError(f"'{path}' holds types that are not trusted by default ({', '.join(untrusted[:3])}); "
                         "it was not saved by nlp-road, so it is not loaded")
    return skops.io.load(path, trusted=TRUSTED)
