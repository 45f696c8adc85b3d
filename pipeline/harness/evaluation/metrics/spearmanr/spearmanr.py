"""Spearman rank correlation as an `evaluate` module, shipped with the package so it loads offline."""

import datasets
import evaluate
from scipy.stats import spearmanr

_DESCRIPTION = "Correlation of the ranks of predicted and reference scores: does the model order pairs right?"
_CITATION = "Virtanen et al., SciPy 1.0: Fundamental Algorithms for Scientific Computing in Python, Nature Methods 17, 2020."
_KWARGS = "predictions: list of float; references: list of float"


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class Spearmanr(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation=_CITATION, inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("float64"),
                                        "references": datasets.Value("float64")}),
            reference_urls=["https://docs.scipy.org/doc/scipy/reference/generated/scipy.stats.spearmanr.html"],
        )

    def _compute(self, predictions, references):
        if min(len(set(predictions)), len(set(references))) < 2:
            return {"spearmanr": 0.0}
        return {"spearmanr": float(spearmanr(references, predictions)[0])}
