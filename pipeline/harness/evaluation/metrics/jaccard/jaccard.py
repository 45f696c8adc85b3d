"""Sample-wise Jaccard accuracy of label sets as an `evaluate` module, shipped with the package so it loads offline."""

import datasets
import evaluate
from sklearn.metrics import jaccard_score

_DESCRIPTION = ("Per text, |predicted and gold| / |predicted or gold| over its label set, averaged over texts: "
                "SemEval-2018 E-c's official measure. A text with no gold and no predicted label scores 1.")
_CITATION = "Mohammad et al., SemEval-2018 Task 1: Affect in Tweets, SemEval 2018."
_KWARGS = "predictions: list of multi-hot lists of int; references: list of multi-hot lists of int"


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class Jaccard(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation=_CITATION, inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Sequence(datasets.Value("int32")),
                                        "references": datasets.Sequence(datasets.Value("int32"))}),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.jaccard_score.html"],
        )

    def _compute(self, predictions, references):
        return {"jaccard": float(jaccard_score(references, predictions, average="samples", zero_division=1.0))}
