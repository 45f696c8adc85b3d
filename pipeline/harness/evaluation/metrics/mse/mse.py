"""Mean squared error as an `evaluate` module, shipped with the package so it loads offline."""

import datasets
import evaluate
from sklearn.metrics import mean_squared_error

_DESCRIPTION = "Mean of the squared differences between predicted and reference scores (in the label's units)."
_CITATION = "Pedregosa et al., Scikit-learn: Machine Learning in Python, JMLR 12, 2011."
_KWARGS = "predictions: list of float; references: list of float"


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class Mse(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation=_CITATION, inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("float64"),
                                        "references": datasets.Value("float64")}),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.mean_squared_error.html"],
        )

    def _compute(self, predictions, references):
        return {"mse": float(mean_squared_error(references, predictions))}
