"""Statistics every task type scores with: metric modules through `evaluate`, bootstrap intervals, paired tests.

Kept apart from `evaluation` (which runs models) so that the task types can use them without importing
the data layer that imports the task types.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    import evaluate

METRICS = Path(__file__).parent / "evaluation" / "metrics"
BOOTSTRAP_SAMPLES = 1000  # for intervals
TEST_SAMPLES = 10_000  # for paired tests: the smallest p a test can give is 1 / 10,001


@lru_cache(maxsize=None)
def load_metric(name: str, config_name: str | None = None) -> evaluate.EvaluationModule:
    """A metric module shipped inside the package (evaluation/metrics/<name>), loaded offline."""
    import evaluate  # here, not at import: it loads transformers' pipelines, seconds a bad option should not wait

    return evaluate.load(str(METRICS / name), config_name)


# statistic(indices) -> one value per row of `indices` ([samples, n] row indices into the test set).
Statistic = Callable[[np.ndarray], np.ndarray]


def mean_of(per_row: np.ndarray) -> Statistic:
    """The statistic of a metric that is a mean over rows (accuracy, Jaccard accuracy)."""
    return lambda index: per_row[index].mean(axis=1)


def pearson_of(predictions: np.ndarray, references: np.ndarray) -> Statistic:
    """Pearson correlation of each resample, computed for all resamples at once."""

    def statistic(index: np.ndarray) -> np.ndarray:
        p, r = predictions[index], references[index]
        p, r = p - p.mean(1, keepdims=True), r - r.mean(1, keepdims=True)
        denominator = np.sqrt((p * p).sum(1) * (r * r).sum(1))
        return np.divide((p * r).sum(1), denominator, out=np.zeros(len(index)), where=denominator > 0)

    return statistic


def macro_f1_of(predictions: np.ndarray, references: np.ndarray, classes: int) -> Statistic:
    """Macro F1 (the unweighted mean of each class's F1) of each resample, for all resamples at once: the
    figure to test on imbalanced classes, where accuracy rewards the majority class."""
    predicted = [predictions == c for c in range(classes)]
    actual = [references == c for c in range(classes)]

    def statistic(index: np.ndarray) -> np.ndarray:
        f1 = []
        for p, r in zip(predicted, actual):
            true_positive = (p & r)[index].sum(1)
            denominator = p[index].sum(1) + r[index].sum(1)
            f1.append(np.divide(2 * true_positive, denominator, out=np.zeros(len(index)), where=denominator > 0))
        return np.mean(f1, axis=0)

    return statistic


def _resamples(n: int, samples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(samples, n))


def bootstrap_interval(statistic: Statistic, n: int, *, samples: int = BOOTSTRAP_SAMPLES,
                       seed: int = 0) -> list[float]:
    """Percentile bootstrap 95% interval of a metric over `n` test rows: how much the test set's luck moves it."""
    values = np.concatenate([statistic(chunk) for chunk in np.array_split(_resamples(n, samples, seed), 10)])
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def paired_bootstrap(a: Statistic, b: Statistic, n: int, *, samples: int = TEST_SAMPLES, seed: int = 0) -> dict:
    """Two models on the same `n` test rows: is the difference in a metric more than the rows' luck?

    Rows are resampled together for both models; the two-sided p-value is the share of resampled
    differences at least as far from the observed one as the observed one is from zero (Berg-Kirkpatrick
    et al. 2012), counted with the observed sample, so it is never 0.
    """
    everything = np.arange(n)[None, :]
    observed = float(a(everything)[0] - b(everything)[0])
    far = 0
    for chunk in np.array_split(_resamples(n, samples, seed), max(1, samples // 500)):
        far += int((np.abs(a(chunk) - b(chunk) - observed) >= abs(observed)).sum())
    return {"test": "paired bootstrap", "difference": observed, "samples": samples,
            "p_value": (far + 1) / (samples + 1)}


def mcnemar(a_correct: np.ndarray, b_correct: np.ndarray) -> dict:
    """Exact McNemar test: do two classifiers differ on the same sentences? (binomial test on discordant pairs)."""
    a_only = int((a_correct & ~b_correct).sum())
    b_only = int((~a_correct & b_correct).sum())
    from scipy.stats import binomtest

    p_value = binomtest(a_only, a_only + b_only, 0.5).pvalue if a_only + b_only else 1.0
    return {"test": "exact McNemar", "difference": float(a_correct.mean() - b_correct.mean()),
            "a_only": a_only, "b_only": b_only, "p_value": float(p_value)}
