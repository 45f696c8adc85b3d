"""Entity-level precision, recall and F1 of IOB2 tag sequences (seqeval) as an `evaluate` module, shipped with
the package so it loads offline."""

import datasets
import evaluate
from seqeval.metrics import accuracy_score, classification_report
from seqeval.scheme import IOB2

_DESCRIPTION = ("An entity counts as found only when its type and every word of its span match (CoNLL-2003's "
                "measure), in strict IOB2 mode; micro averages pool the entities of every type, and each type is "
                "reported on its own. Token accuracy is the share of words whose tag is right, 'O' included.")
_CITATION = "Nakayama, seqeval: A Python framework for sequence labeling evaluation, 2018."
_KWARGS = "predictions: list of lists of IOB2 tags; references: the same, one list per sentence"


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class Seqeval(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation=_CITATION, inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Sequence(datasets.Value("string")),
                                        "references": datasets.Sequence(datasets.Value("string"))}),
            reference_urls=["https://github.com/chakki-works/seqeval"],
        )

    def _compute(self, predictions, references):
        report = classification_report(references, predictions, mode="strict", scheme=IOB2, output_dict=True,
                                       zero_division=0)
        micro = report.pop("micro avg")
        types = {name: {"precision": float(v["precision"]), "recall": float(v["recall"]), "f1": float(v["f1-score"]),
                        "support": int(v["support"])} for name, v in report.items() if not name.endswith(" avg")}
        return {"precision": float(micro["precision"]), "recall": float(micro["recall"]), "f1": float(micro["f1-score"]),
                "token_accuracy": float(accuracy_score(references, predictions)), "per_type": types}
