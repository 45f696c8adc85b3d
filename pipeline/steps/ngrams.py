"""The first step of the road: bags of words and n-grams as linear models (the fastText-style network is in
fasttext.py); to tag words, the classic window tagger (a linear model over one-hot features of a word and its neighbours).

A bag of words forgets word order; n-grams keep a little of it. On the built-in data set the
difference shows in the negation and contrast rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import Pipeline

from ..harness.errors import UsageError, check_options
from ..harness.tasks import ClassWeights, TaskType

FEATURES = ("binary", "count", "tfidf", "fasttext")


@dataclass
class NgramConfig:
    features: str = field(default="tfidf", metadata={
        "help": "binary (one-hot presence), count, tfidf (scikit-learn linear model), or fasttext (torch)."})
    ngram_min: int = field(default=1, metadata={"help": "Shortest n-gram."})
    ngram_max: int = field(default=2, metadata={"help": "Longest n-gram (1 to 3 for words; more for characters)."})
    analyzer: str = field(default="word", metadata={"help": "word, or char_wb for character n-grams."})
    classifier: str = field(default="logreg", metadata={"help": "logreg (logistic regression) or sgd."})
    regularization: float = field(default=1.0, metadata={"help": "Inverse regularisation strength C of logreg."})
    max_features: int | None = field(default=None, metadata={"help": "Keep only the most frequent n-grams."})
    buckets: int = field(default=20_000, metadata={"help": "fasttext: hash buckets for the bigrams."})
    embedding_dim: int = field(default=64, metadata={"help": "fasttext: embedding width."})
    window: int = field(default=2, metadata={
        "help": "token_classification: how many words either side of a word its features read."})

    def __post_init__(self):
        check_options([
            (self.features in FEATURES, f"--features {self.features!r}: choose one of {', '.join(FEATURES)}"),
            (self.analyzer in ("word", "char", "char_wb"), f"--analyzer {self.analyzer!r}: choose word, char or char_wb"),
            (self.classifier in ("logreg", "sgd"), f"--classifier {self.classifier!r}: choose logreg or sgd"),
            (1 <= self.ngram_min <= self.ngram_max,
             f"--ngram_min {self.ngram_min} and --ngram_max {self.ngram_max}: need 1 <= ngram_min <= ngram_max"),
            (self.regularization > 0, f"--regularization must be positive (got {self.regularization})"),
            (self.max_features is None or self.max_features >= 1,
             f"--max_features must be at least 1 (got {self.max_features})"),
            (self.buckets >= 1 and self.embedding_dim >= 1, "--buckets and --embedding_dim must be at least 1"),
            (0 <= self.window <= 5, f"--window must be 0 to 5 words (got {self.window})"),
        ])

    def check_applies(self, kind: TaskType) -> None:
        """Tagging words reads window features, not n-grams of a text; the n-gram options do not apply to it."""
        defaults, text_only = NgramConfig(), ("features", "ngram_min", "ngram_max", "analyzer", "max_features",
                                              "buckets", "embedding_dim")
        given = [f"--{name}" for name in (text_only if kind.reads_words else ("window",))
                 if getattr(self, name) != getattr(defaults, name)]
        if given:
            raise UsageError(f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to "
                             + ("texts; tagging words reads window features (--window), so leave "
                                f"{'it' if len(given) == 1 else 'them'} out" if kind.reads_words else
                                "tagging words (token_classification); this task classifies texts, so leave it out"))


class WindowFeatures(BaseEstimator, TransformerMixin):
    """Each word of each sentence (a list of words) as the one-hot features a classic tagger reads: the word,
    lowercased, and its shape ('Xxxx', 'dd-dd': capitals mark most English names), its prefixes and suffixes of
    up to 3 letters, and the lowercased words and shapes up to `width` words either side. One dict per word."""

    def __init__(self, width: int = 2):
        self.width = width

    def fit(self, sentences, labels=None):
        return self

    def transform(self, sentences) -> list[dict]:
        return [self._word(words, i) for words in sentences for i in range(len(words))]

    def _word(self, words: list[str], i: int) -> dict:
        word = words[i]
        features = {"bias": 1, **{f"prefix{n}={word[:n].lower()}": 1 for n in (1, 2, 3) if len(word) >= n},
                    **{f"suffix{n}={word[-n:].lower()}": 1 for n in (1, 2, 3) if len(word) >= n}}
        for offset in range(-self.width, self.width + 1):
            j = i + offset
            other = words[j] if 0 <= j < len(words) else "<s>" if j < 0 else "</s>"
            features[f"word[{offset}]={other.lower()}"] = 1
            features[f"shape[{offset}]={_shape(other)}"] = 1
        return features


def _shape(word: str) -> str:
    """'Paris' -> 'Xx', '1996-08-22' -> 'd-d-d': letters and digits as classes, runs collapsed."""
    classes = ["X" if c.isupper() else "x" if c.isalpha() else "d" if c.isdigit() else c for c in word]
    return "".join(c for k, c in enumerate(classes) if k == 0 or c != classes[k - 1])


def build_linear(config: NgramConfig, seed: int, kind: TaskType, *,
                 class_weights: ClassWeights | None = None) -> Pipeline:
    """Vectorizer + the task type's linear model (logistic regression, one-vs-rest logistic regressions, ridge
    regression), classes weighted as `class_weights` says; `binary` is the one-hot view: 1 if the n-gram occurs,
    else 0. To tag words: window features (WindowFeatures), one-hot, and logistic regression over the tags."""
    if config.classifier not in ("logreg", "sgd"):
        raise UsageError(f"--classifier {config.classifier!r}: choose logreg or sgd")
    linear = kind.linear_model(config.classifier, config.regularization, seed, class_weights=class_weights)
    if kind.reads_words:
        return Pipeline([("windows", WindowFeatures(config.window)), ("vectorizer", DictVectorizer()),
                         ("classifier", linear)])
    if config.features not in FEATURES[:3]:
        raise UsageError(f"--features {config.features!r}: choose one of {', '.join(FEATURES)}")
    if config.analyzer not in ("word", "char", "char_wb"):
        raise UsageError(f"--analyzer {config.analyzer!r}: choose word, char or char_wb")
    options = {"ngram_range": (config.ngram_min, config.ngram_max), "analyzer": config.analyzer,
               "max_features": config.max_features, "lowercase": True}
    vectorizer = (TfidfVectorizer(sublinear_tf=True, **options) if config.features == "tfidf"
                  else CountVectorizer(binary=config.features == "binary", **options))
    return Pipeline([("vectorizer", vectorizer), ("classifier", linear)])


def describe_defaults(config: NgramConfig, kind: TaskType) -> str:
    """What build_linear fits with `config`, in a few words (the baseline other steps compare with)."""
    if kind.reads_words:
        return f"word-window features (±{config.window} words), logistic regression"
    return f"{config.features} {config.ngram_min}-{config.ngram_max}-grams ({config.analyzer}), linear model"


def describe_linear(pipeline: Pipeline, *, name: str) -> dict:
    """What the run record keeps of a fitted pipeline; its parameters are the coefficients and intercepts
    (what the model learned), its `class` the predictor's key for a skops pipeline."""
    return {"name": name, "family": "linear", "class": "sklearn",
            "not_in_pipeline": "it is a scikit-learn pipeline (`pipeline.skops`), which `skops.io.load` reads",
            "parameters": linear_parameters(pipeline.named_steps["classifier"]),
            "vocabulary": len(pipeline.named_steps["vectorizer"].vocabulary_)}


def linear_parameters(model) -> int:
    """Coefficients and intercepts of a fitted linear model (of each one-vs-rest model, for label sets)."""
    models = getattr(model, "estimators_", [model])
    return int(sum(np.size(m.coef_) + np.size(m.intercept_) for m in models if hasattr(m, "coef_")))
