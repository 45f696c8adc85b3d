"""F1 as an `evaluate` module, shipped with the package so it loads offline; config "multilabel" takes label sets."""

import datasets
import evaluate
from sklearn.metrics import f1_score

_DESCRIPTION = ("Harmonic mean of precision and recall; `average='macro'` weighs every class equally, 'micro' pools "
                "every decision (of every label, for label sets).")
_CITATION = "Pedregosa et al., Scikit-learn: Machine Learning in Python, JMLR 12, 2011."
_KWARGS = ("predictions: list of int (multilabel: multi-hot lists); references: the same; "
           "average: binary|micro|macro|weighted|samples|None; labels; pos_label")


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class F1(evaluate.Metric):
    def _info(self):
        value = (datasets.Sequence(datasets.Value("int32")) if self.config_name == "multilabel"
                 else datasets.Value("int32"))
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS,
            features=datasets.Features({"predictions": value, "references": value}),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.f1_score.html"],
        )

    def _compute(self, predictions, references, labels=None, pos_label=1, average="binary", sample_weight=None):
        score = f1_score(
            references, predictions, labels=labels, pos_label=pos_label, average=average, sample_weight=sample_weight,
            zero_division=0,
        )
        return {"f1": score.tolist() if hasattr(score, "tolist") and getattr(score, "ndim", 0) else float(score)}
