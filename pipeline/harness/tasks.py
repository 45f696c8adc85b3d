"""Task types: what a label is, and everything that follows from it. One entry per type in TASK_TYPES.

The harness asks the task type instead of assuming one class per text: how a label column is read,
checked and encoded; whether splits are stratified; the transformers `problem_type` and head size; how
a model's logits become outputs (class probabilities, label probabilities, a number) and decisions; the
metrics with their bootstrap interval and the paired test that fits them; the predictions file; the
linear model of the bag-of-words step; distillation's soft-target loss; and the built-in data. Adding a
type is one entry here (plus its metric modules under evaluation/metrics).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from datasets import ClassLabel, DatasetDict, Features, List, Value
from seqeval.scheme import IOB2, Entities
from transformers import (AutoModelForSequenceClassification, AutoModelForTokenClassification,
                          DataCollatorForTokenClassification, DataCollatorWithPadding)
from transformers.models.auto.modeling_auto import (MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES,
                                                    MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES)

from .errors import UsageError
from .scoring import bootstrap_interval, load_metric, mcnemar, mean_of, paired_bootstrap, pearson_of


@dataclass
class Labels:
    """What reading a label column gives: every split's `label` encoded, the label names, raw value -> index,
    and what the record keeps about the targets (a regression's range)."""

    splits: DatasetDict
    names: list[str]
    mapping: dict[str, int]
    info: dict


@dataclass
class ClassWeights:
    """--class_weights as a loss uses it: a weight per class (per tag; for label sets, each label's weight on
    its positive examples, as BCEWithLogitsLoss's pos_weight), and whether the data's balance gave them."""

    balanced: bool
    values: list[float]

    def tensor(self) -> torch.Tensor:
        return torch.tensor(self.values, dtype=torch.float)

    def describe(self, names: list[str]) -> dict:
        """What the run record keeps: the rule, and every class's weight by name."""
        return {"rule": "balanced" if self.balanced else "given", "weights": dict(zip(names, self.values))}


def given_weights(given: str, names: list[str]) -> list[float]:
    """'name=weight,...' as one weight per class in `names` order; a class left out weighs 1."""
    weights = dict.fromkeys(names, 1.0)
    for pair in given.split(","):
        name, _, value = pair.partition("=")
        name = name.strip()
        if name not in weights:
            raise UsageError(f"--class_weights names '{name}', which is not a label here ({', '.join(names)})")
        try:
            weight = float(value)
        except ValueError:
            weight = math.nan
        if not math.isfinite(weight) or weight <= 0:
            raise UsageError(f"--class_weights {name}={value.strip()}: a weight is a positive finite number")
        weights[name] = weight
    return list(weights.values())


def file_lines(rows: list[int]) -> str:
    """Row indices as the lines of a file with a header row, as a user finds them in an editor."""
    return ", ".join(str(i + 2) for i in rows[:5]) + (" ..." if len(rows) > 5 else "")


class TaskType:
    """One shape of task. Subclasses fill in every step that differs; the harness calls nothing else."""

    name: str
    problem_type: str | None  # transformers' config.problem_type: picks the loss of its sequence heads
    reads_words: bool = False  # whether rows are words with a label each (a `tokens` column) instead of texts
    auto_model = AutoModelForSequenceClassification  # the transformers head class of this type
    families = MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES  # model types that have that head
    pipeline_task = "text-classification"  # the transformers pipeline that serves a saved model
    head_name = "sequence-classification"  # what transformers calls the head, in messages
    main_metric: str  # the leaderboard's and the best epoch's figure (higher is better)
    metrics: dict[str, str]  # metric -> what people call it, main metric first: result tables, cards, boards
    stratify: bool = False  # whether carved splits keep the label distribution
    options: tuple[str, ...] = ()  # DataSpec options that apply to this type only
    # What a transformers "text-classification" pipeline call needs to return this type's outputs.
    pipeline_options: str = ""
    description: str  # what a model of this type does, for model cards
    # The offline default data set of this type and the generator of more unlabelled sentences like it:
    # functions of data/builtin.py, by name (the data layer asks for them; this module does not import it).
    builtin: str
    generated: str
    builtin_name: str  # the built-in set's name in run folders and records

    def claims(self, feature) -> bool:
        """Whether a label column of this feature type is this task type without being told."""
        return False

    def accepts(self, feature) -> bool:
        """Whether --task_type may make a label column of this feature type this task type (read() then checks
        every cell)."""
        return not isinstance(feature, List)

    def read(self, splits: DatasetDict, column: str, spec, *, words: str | None = None) -> Labels:
        """Check and encode label column `column` (`words`: the column of word lists, for types that read words)."""
        raise NotImplementedError

    def num_labels(self, names: list[str]) -> int:
        return len(names)

    def outputs(self, logits: np.ndarray) -> np.ndarray:
        """What a model's logits mean to a user: probabilities, or a number."""
        raise NotImplementedError

    def decide(self, outputs: np.ndarray, threshold: float) -> np.ndarray:
        """The predictions the metrics score: class ids, multi-hot rows, or numbers."""
        raise NotImplementedError

    def references(self, column) -> np.ndarray:
        return np.asarray(column)

    def encoded_references(self, rows) -> np.ndarray:
        """The references of encoded rows (what the validation loader holds)."""
        return self.references(rows["labels"])

    def stack(self, predictions: list) -> np.ndarray:
        """Predictions read back one per row (runs.read_predictions) as one array, as decide() gives them."""
        return np.asarray(predictions)

    def class_weights(self, labels, given: str, names: list[str]) -> ClassWeights:
        """Each class's weight in the training loss (--class_weights): 'balanced' is scikit-learn's rule,
        rows / (classes x the class's rows), so every class weighs the same in total; 'name=weight,...' as given."""
        if given != "balanced":
            return ClassWeights(False, given_weights(given, names))
        counts = np.bincount(np.hstack(list(labels)).astype(int), minlength=len(names))
        return ClassWeights(True, (counts.sum() / (len(names) * np.maximum(counts, 1))).round(6).tolist())

    def tokenize(self, batch: dict, tokenizer, max_length: int, *, all_pieces: bool = False) -> dict:
        """A batch of rows as model inputs with their `label` (encoding.encode_rows)."""
        return tokenizer(batch["text"], batch.get("text_pair"), truncation=True, max_length=max_length)

    def collator(self, tokenizer) -> Callable:
        """Pads a batch of encoded rows."""
        return DataCollatorWithPadding(tokenizer)

    def validation_scores(self, predictions: np.ndarray, references: np.ndarray) -> dict:
        raise NotImplementedError

    def statistic(self, predictions: np.ndarray, references: np.ndarray):
        """The main metric as a statistic of resampled rows (scoring.Statistic), for intervals and tests."""
        raise NotImplementedError

    def score(self, predictions: np.ndarray, references: np.ndarray, names: list[str], *, phenomena=None,
              seed: int = 0) -> dict:
        """Test metrics: the type's own, the main metric's bootstrap interval, and per phenomenon."""
        metrics = {**self.validation_scores(predictions, references), **self.breakdown(predictions, references, names)}
        metrics[f"{self.main_metric}_ci95"] = bootstrap_interval(self.statistic(predictions, references),
                                                                 len(references), seed=seed)
        if phenomena is not None:
            phenomena = np.asarray(phenomena)
            metrics["per_phenomenon"] = {str(p): self.validation_scores(predictions[phenomena == p],
                                                                        references[phenomena == p])[self.main_metric]
                                         for p in dict.fromkeys(phenomena)}
        return metrics

    def breakdown(self, predictions: np.ndarray, references: np.ndarray, names: list[str]) -> dict:
        return {}

    def paired_test(self, a: np.ndarray, b: np.ndarray, references: np.ndarray, *, seed: int = 0) -> dict:
        """Is model a's main metric different from model b's on the same test rows?"""
        return paired_bootstrap(self.statistic(a, references), self.statistic(b, references), len(references),
                                seed=seed)

    def format(self, prediction, names: list[str]) -> str:
        """One prediction as the predictions file writes it."""
        raise NotImplementedError

    def parse(self, text: str, names: list[str]):
        raise NotImplementedError

    def readable(self, output: np.ndarray, names: list[str], threshold: float, text: str) -> tuple[dict, str]:
        """One text's output for people: a JSON object, and the first columns of a tab-separated line."""
        raise NotImplementedError

    def hard_loss(self, logits: torch.Tensor, labels: torch.Tensor, *,
                  weights: torch.Tensor | None = None) -> torch.Tensor:
        """The loss against gold labels, one value per row, each class's term scaled by `weights`
        (ClassWeights) where given."""
        raise NotImplementedError

    def soft_loss(self, logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
        """The loss against teachers' outputs ([batch, teachers, labels]), one value per row."""
        raise NotImplementedError

    def linear_model(self, classifier: str, regularization: float, seed: int, *,
                     class_weights: ClassWeights | None = None):
        """The scikit-learn estimator of the bag-of-words and Word2Vec steps (`classifier`: 'logreg' or 'sgd'),
        with scikit-learn's `class_weight` where weights are given."""
        raise NotImplementedError

    def linear_inputs(self, texts: list[str], labels) -> tuple[list, np.ndarray]:
        """What the linear model of the bag-of-words step fits: the texts and their references."""
        return texts, self.references(labels)

    def linear_outputs(self, model, texts: list[str]) -> np.ndarray:
        return model.predict_proba(texts)

    def tune_threshold(self, outputs: np.ndarray, references: np.ndarray) -> float | None:
        """The decision threshold that scores best on validation, where the type has one."""
        return None

    def trivial(self, train_labels, references: np.ndarray) -> tuple[str, np.ndarray]:
        """The guess a model must beat to have learned anything from the text: what it says, and its predictions
        for the rows of `references`, from the training labels alone (never from the rows it is scored on)."""
        raise NotImplementedError


def _softmax(logits: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.from_numpy(np.asarray(logits)).float(), -1).numpy()


def _line_numbers(values: list, bad) -> list[int]:
    return [i for i, v in enumerate(values) if bad(v)]


class SingleLabel(TaskType):
    """One class per text (sentiment, topic, paraphrase): softmax, cross-entropy, accuracy."""

    name = "single_label"
    problem_type = "single_label_classification"
    main_metric = "accuracy"
    metrics = {"accuracy": "accuracy", "f1_macro": "macro F1", "matthews_correlation": "Matthews correlation"}
    stratify = True
    options = ("class_weights",)
    description = "sequence classifier"
    builtin, generated, builtin_name = "build_builtin", "unlabeled_sentences", "builtin"

    def claims(self, feature) -> bool:
        return True  # the default: integers, strings and ClassLabels

    def accepts(self, feature) -> bool:
        return not isinstance(feature, List) and not (isinstance(feature, Value) and feature.dtype.startswith("float"))

    def read(self, splits: DatasetDict, column: str, spec, *, words=None) -> Labels:
        feature = splits["train"].features[column]
        values = {split: list(rows[column]) for split, rows in splits.items()}
        sets = [v for v in values["train"] if isinstance(v, str) and "," in v]
        hint = ""
        if len(sets) > len(values["train"]) / 10:
            if spec.task_type is None:  # found, not given: label sets would become hundreds of compound classes
                raise UsageError(f"label column '{column}' looks like label sets: {len(sets):,} training labels hold a "
                                 f"comma (e.g. '{sets[0]}'); pass --task_type multi_label (or --task_type "
                                 "single_label to keep each combination as a class of its own)")
            hint = (f"{len(sets):,} training labels hold a comma (e.g. '{sets[0]}'), each taken as a class of its own; "
                    "if they are label sets, pass --task_type multi_label")
        if isinstance(feature, ClassLabel):
            names = list(feature.names)
            mapping = {name: i for i, name in enumerate(names)}
        else:
            for split, column_values in values.items():
                if any(v is None for v in column_values):
                    raise UsageError(f"the {split} split has rows with no label in column '{column}' (file lines "
                                     f"{file_lines(_line_numbers(column_values, lambda v: v is None))}); fill or "
                                     "drop them" + (f" ({hint})" if hint else ""))
            kinds = {type(v) for column_values in values.values() for v in column_values}
            if kinds - {int, str, bool}:
                raise UsageError(f"label column '{column}' holds {', '.join(sorted(k.__name__ for k in kinds))}; "
                                 "single-label classes are integers or strings (numbers to predict: "
                                 "--task_type regression; label sets: --task_type multi_label)")
            observed = sorted(set(values["train"]), key=lambda v: (isinstance(v, str), v))
            mapping = {str(v): i for i, v in enumerate(observed)}
            names = [str(v) for v in observed]
            if spec.label_names:
                given = [n.strip() for n in spec.label_names.split(",")]
                if observed != list(range(len(given))):
                    raise UsageError(f"--label_names gives {len(given)} names but the training labels are "
                                     f"{names}; give one name per integer label 0..n-1")
                names = given
            for split, column_values in values.items():
                unknown = sorted({str(v) for v in column_values} - set(mapping))
                if unknown:
                    raise UsageError(f"the {split} split has labels {unknown[:5]} that the train split does not "
                                     f"have ({', '.join(mapping)}); fix the labels or the files"
                                     + (f" ({hint})" if hint else ""))
        if len(set(values["train"])) < 2:
            raise UsageError(f"the train split has a single class ({values['train'][0]}); "
                             "a classifier needs at least two")
        if hint:
            print(f"note: {hint}")

        def encode(batch, rows_at):
            return {column: [v if isinstance(feature, ClassLabel) else mapping[str(v)] for v in batch[column]]}

        return Labels(_encoded(splits, column, ClassLabel(names=names), encode), names, mapping, {})

    def outputs(self, logits):
        return _softmax(logits)

    def decide(self, outputs, threshold):
        return np.asarray(outputs).argmax(-1)

    def validation_scores(self, predictions, references):
        return {"accuracy": load_metric("accuracy").compute(predictions=predictions, references=references)["accuracy"],
                "f1_macro": load_metric("f1").compute(predictions=predictions, references=references,
                                                      average="macro")["f1"],
                "matthews_correlation": load_metric("matthews_correlation").compute(
                    predictions=predictions, references=references)["matthews_correlation"]}

    def statistic(self, predictions, references):
        return mean_of((predictions == references).astype(float))

    def breakdown(self, predictions, references, names):
        correct = predictions == references
        f1 = load_metric("f1").compute(predictions=predictions, references=references, average=None,
                                       labels=list(range(len(names))))["f1"]
        return {"per_class": {name: {"accuracy": float(correct[references == i].mean()) if (references == i).any()
                                     else None, "f1": float(f1[i]), "support": int((references == i).sum())}
                              for i, name in enumerate(names)}}

    def paired_test(self, a, b, references, *, seed=0):
        return mcnemar(a == references, b == references)  # exact, and what accuracy's paired test has always been

    def trivial(self, train_labels, references):
        majority = np.bincount(np.asarray(train_labels)).argmax()
        return "always the most frequent class", np.full(len(references), majority)

    def format(self, prediction, names):
        return names[int(prediction)]

    def parse(self, text, names):
        return names.index(text)

    def readable(self, output, names, threshold, text):
        best = int(output.argmax())
        return ({"label": names[best], "score": float(output[best]),
                 "probabilities": dict(zip(names, map(float, output)))}, f"{names[best]}\t{output[best]:.4f}")

    def hard_loss(self, logits, labels, *, weights=None):
        return F.cross_entropy(logits.float(), labels, weight=weights, reduction="none")

    def soft_loss(self, logits, teacher_logits, temperature):
        """T^2 KL(teachers' softened distribution || the student's), the teachers' distributions averaged."""
        targets = F.softmax(teacher_logits.float() / temperature, dim=-1).mean(dim=1)
        log_student = F.log_softmax(logits.float() / temperature, dim=-1)
        return temperature ** 2 * F.kl_div(log_student, targets, reduction="none").sum(-1)

    def linear_model(self, classifier, regularization, seed, *, class_weights=None):
        weights = dict(enumerate(class_weights.values)) if class_weights else None
        if classifier == "sgd":
            from sklearn.linear_model import SGDClassifier

            return SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=50, random_state=seed, class_weight=weights)
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=regularization, max_iter=2000, random_state=seed, class_weight=weights)


class MultiLabel(TaskType):
    """A set of labels per text (emotions, aspects): one sigmoid per label, binary cross-entropy, and the
    labels whose probability reaches the threshold."""

    name = "multi_label"
    problem_type = "multi_label_classification"
    main_metric = "jaccard"
    metrics = {"jaccard": "Jaccard accuracy", "f1_micro": "micro F1", "f1_macro": "macro F1"}
    options = ("label_separator", "threshold", "tune_threshold", "class_weights")
    pipeline_options = ", top_k=None"  # every label's sigmoid probability (the config's problem_type picks sigmoid)
    description = "multi-label classifier (a sigmoid per label)"
    builtin, generated, builtin_name = "build_aspects", "unlabeled_aspects", "builtin-multi-label"

    def claims(self, feature) -> bool:
        return isinstance(feature, List)

    def accepts(self, feature) -> bool:  # lists, or strings of labels and separators
        return isinstance(feature, List) or (isinstance(feature, Value) and "string" in feature.dtype)

    def read(self, splits, column, spec, *, words=None):
        separator = spec.label_separator or ","
        feature = splits["train"].features[column]
        classes = getattr(feature, "feature", None)  # a hub set's List(ClassLabel) names its ids (go_emotions)
        integers = bool(spec.label_names) or isinstance(classes, ClassLabel)

        def label_set(value, split: str, row: int) -> list[str]:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return []
            items = value if isinstance(value, list) else str(value).split(separator) if isinstance(value, str) else None
            if items is None:
                raise UsageError(f"the {split} split's label in column '{column}' at file line {row + 2} is "
                                 f"{value!r}; a multi-label cell is a list or a '{separator}'-separated string")
            return sorted({str(item).strip() for item in items if str(item).strip()})

        sets = {split: [label_set(v, split, i) for i, v in enumerate(rows[column])] for split, rows in splits.items()}
        observed = sorted({label for labels in sets["train"] for label in labels})
        if not observed:
            raise UsageError(f"no training row has a label in column '{column}'; a multi-label task needs labels")
        names = observed
        if integers:
            given = (list(classes.names) if isinstance(classes, ClassLabel)
                     else [n.strip() for n in spec.label_names.split(",")])
            bad = [label for label in observed if not label.isdigit() or int(label) >= len(given)]
            if bad:
                raise UsageError(f"--label_names gives {len(given)} names but the training labels include {bad[:5]}; "
                                 "give one name per integer label 0..n-1")
            names = given
        index = {label: int(label) if integers else names.index(label) for label in observed}
        for split, split_sets in sets.items():
            unknown = sorted({label for labels in split_sets for label in labels} - set(index))
            if unknown:
                raise UsageError(f"the {split} split has labels {unknown[:5]} that no training row has "
                                 f"({', '.join(names)}); a model cannot learn a label it never saw")
        width = len(names)

        def multi_hot(labels: list[str]) -> list[float]:
            row = [0.0] * width
            for label in labels:
                row[index[label]] = 1.0
            return row

        encoded = DatasetDict({split: _encoded(DatasetDict({split: rows}), column, List(Value("float32"), length=width),
                                               lambda batch, rows_at, hot=[multi_hot(s) for s in sets[split]]:
                                               {column: [hot[i] for i in rows_at]})[split]
                               for split, rows in splits.items()})
        share = float(np.mean([len(s) > 0 for s in sets["train"]]))
        return Labels(encoded, names, {name: i for i, name in enumerate(names)},
                      {"separator": separator, "labels_per_row": float(np.mean([len(s) for s in sets["train"]])),
                       "rows_with_a_label": share})

    def outputs(self, logits):
        return torch.sigmoid(torch.from_numpy(np.asarray(logits)).float()).numpy()

    def decide(self, outputs, threshold):
        return (np.asarray(outputs) >= threshold).astype(np.int64)

    def references(self, column):
        return np.asarray(column).round().astype(np.int64)

    def validation_scores(self, predictions, references):
        f1 = load_metric("f1", "multilabel")
        return {"jaccard": load_metric("jaccard").compute(predictions=predictions, references=references)["jaccard"],
                "f1_micro": f1.compute(predictions=predictions, references=references, average="micro")["f1"],
                "f1_macro": f1.compute(predictions=predictions, references=references, average="macro")["f1"]}

    def statistic(self, predictions, references):
        both, either = (predictions & references).sum(1), (predictions | references).sum(1)
        return mean_of(np.divide(both, either, out=np.ones(len(both)), where=either > 0))

    def breakdown(self, predictions, references, names):
        f1 = load_metric("f1", "multilabel").compute(predictions=predictions, references=references, average=None,
                                                     labels=list(range(len(names))))["f1"]
        return {"per_class": {name: {"f1": float(f1[i]), "support": int(references[:, i].sum()),
                                     "predicted": int(predictions[:, i].sum())} for i, name in enumerate(names)}}

    def format(self, prediction, names):
        """A JSON list of the predicted labels: label names may hold any separator."""
        return json.dumps([name for name, on in zip(names, prediction) if on])

    def parse(self, text, names):
        chosen = set(json.loads(text))
        return [int(name in chosen) for name in names]

    def readable(self, output, names, threshold, text):
        chosen = [name for name, p in zip(names, output) if p >= threshold]
        return ({"labels": chosen, "probabilities": dict(zip(names, map(float, output))), "threshold": threshold},
                f"{','.join(chosen) or '(none)'}\t" + ",".join(f"{p:.4f}" for p in output if p >= threshold))

    def class_weights(self, labels, given, names):
        """Each label's weight on its positive examples (BCEWithLogitsLoss's pos_weight): 'balanced' is the
        label's negatives over its positives, so its rare positives weigh as much as its negatives."""
        if given != "balanced":
            return ClassWeights(False, given_weights(given, names))
        positives = np.asarray(list(labels), dtype=float).sum(0)
        return ClassWeights(True, ((len(labels) - positives) / np.maximum(positives, 1)).round(6).tolist())

    def hard_loss(self, logits, labels, *, weights=None):
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float(), pos_weight=weights,
                                                  reduction="none").mean(-1)

    def soft_loss(self, logits, teacher_logits, temperature):
        """T^2 binary cross-entropy against each label's softened teacher probability, averaged over labels."""
        targets = torch.sigmoid(teacher_logits.float() / temperature).mean(dim=1)
        return temperature ** 2 * F.binary_cross_entropy_with_logits(
            logits.float() / temperature, targets, reduction="none").mean(-1)

    def linear_model(self, classifier, regularization, seed, *, class_weights=None):
        from sklearn.multiclass import OneVsRestClassifier

        if class_weights is not None and not class_weights.balanced:
            raise UsageError("--class_weights name=weight: scikit-learn's one-vs-rest models take one class weight "
                             "for every label, so the linear steps weigh label sets only as 'balanced'")
        model = SingleLabel().linear_model(classifier, regularization, seed)
        if class_weights is not None:  # each label's model balances its own positives and negatives
            model.set_params(class_weight="balanced")
        return OneVsRestClassifier(model)

    def trivial(self, train_labels, references):
        """The one label set that scores best on the training rows: their most frequent set, or the labels at least
        a given share of them have (the label prior at its best cut)."""
        train = self.references(train_labels)
        sets, counts = np.unique(train, axis=0, return_counts=True)
        prior = train.mean(0)
        candidates = [sets[counts.argmax()], *((prior >= share).astype(np.int64) for share in np.unique(prior))]
        best = max(candidates, key=lambda c: self.statistic(np.tile(c, (len(train), 1)), train)(
            np.arange(len(train))[None])[0])
        return "the same label set for every row (the prior's best)", np.tile(best, (len(references), 1))

    def tune_threshold(self, outputs, references):
        """The threshold (0.05 to 0.95) with the best validation Jaccard accuracy."""
        grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
        scores = [self.statistic(self.decide(outputs, t), references)(np.arange(len(references))[None])[0]
                  for t in grid]
        return float(grid[int(np.argmax(scores))])


class Regression(TaskType):
    """A number per text (similarity, a score): one output, mean squared error, Pearson correlation."""

    name = "regression"
    problem_type = "regression"
    main_metric = "pearson"
    pipeline_options = ', function_to_apply="none"'  # the number itself (the pipeline would squash it otherwise)
    description = "regression model (one output, the predicted number)"
    metrics = {"pearson": "Pearson", "spearman": "Spearman", "mse": "mean squared error"}
    builtin, generated, builtin_name = "build_graded", "unlabeled_graded", "builtin-regression"

    def claims(self, feature) -> bool:
        return isinstance(feature, Value) and feature.dtype in ("float16", "float32", "float64")

    def read(self, splits, column, spec, *, words=None):
        def number(value) -> float | None:
            if isinstance(value, bool):
                return None
            try:
                number = float(value)
            except (TypeError, ValueError):
                return None
            return number if math.isfinite(number) else None

        for split, rows in splits.items():
            bad = _line_numbers(list(rows[column]), lambda v: number(v) is None)
            if bad:
                first = rows[column][bad[0]]
                raise UsageError(f"the {split} split's regression label in column '{column}' is not a finite "
                                 f"number at file line(s) {file_lines(bad)} (e.g. {first!r}); fix or drop those rows")
        train = np.asarray([number(v) for v in splits["train"][column]])
        if np.ptp(train) == 0:
            raise UsageError(f"every training label in column '{column}' is {train[0]}; regression needs targets "
                             "that vary")

        def encode(batch, rows_at):
            return {column: [number(v) for v in batch[column]]}

        info = {"label_range": [float(train.min()), float(train.max())], "label_mean": float(train.mean()),
                "label_std": float(train.std())}
        return Labels(_encoded(splits, column, Value("float32"), encode), ["score"], {"score": 0}, info)

    def num_labels(self, names):
        return 1

    def outputs(self, logits):
        return np.asarray(logits, dtype=np.float64)[:, :1]

    def decide(self, outputs, threshold):
        return np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)[:, 0]

    def references(self, column):
        return np.asarray(column, dtype=np.float64)

    def validation_scores(self, predictions, references):
        if len(references) < 2:
            return {"pearson": 0.0, "spearman": 0.0, "mse": float(((predictions - references) ** 2).mean())}
        return {"pearson": load_metric("pearsonr").compute(predictions=predictions, references=references)["pearsonr"],
                "spearman": load_metric("spearmanr").compute(predictions=predictions,
                                                             references=references)["spearmanr"],
                "mse": load_metric("mse").compute(predictions=predictions, references=references)["mse"]}

    def statistic(self, predictions, references):
        return pearson_of(predictions, references)

    def trivial(self, train_labels, references):
        return "always the training mean", np.full(len(references), float(np.mean(train_labels)))

    def format(self, prediction, names):
        return f"{float(prediction):.6g}"

    def parse(self, text, names):
        return float(text)

    def readable(self, output, names, threshold, text):
        return {"score": float(output[0])}, f"{float(output[0]):.4f}"

    def hard_loss(self, logits, labels, *, weights=None):  # a number has no classes to weigh (check_applies)
        return (logits.float()[:, 0] - labels.float().view(-1)) ** 2

    def soft_loss(self, logits, teacher_logits, temperature):
        """Squared distance to the teachers' mean prediction (a number has no temperature to soften)."""
        return (logits.float()[:, 0] - teacher_logits.float()[:, :, 0].mean(dim=1)) ** 2

    def linear_model(self, classifier, regularization, seed, *, class_weights=None):
        if classifier == "sgd":
            from sklearn.linear_model import SGDRegressor

            return SGDRegressor(alpha=1e-5, max_iter=50, random_state=seed)
        from sklearn.linear_model import Ridge

        return Ridge(alpha=1.0 / regularization, random_state=seed)

    def linear_outputs(self, model, features):
        return np.asarray(model.predict(features), dtype=np.float64).reshape(-1, 1)


IOB2_TAG = re.compile(r"^(O|[BI]-\S+)$")
# A sentence's words are what spaces separate, as CoNLL-2003 writes them ("Merkel visited Paris ."): a data
# set's rows joined by spaces come back as the same words, so every model is scored on the words it was given.
WORD = re.compile(r"\S+")


class WordCollator:
    """Pads encoded words-and-tags rows: inputs by the tokenizer, `labels` with -100 (what the loss skips), and
    `word_starts` (word_starts()) with 0, on the tokenizer's padding side; other columns of equal shape in every
    row (a distillation's cached soft targets and weights) are stacked."""

    def __init__(self, tokenizer):
        self.tokens = DataCollatorForTokenClassification(tokenizer)
        self.inputs = {*tokenizer.model_input_names, "labels"}
        self.left = tokenizer.padding_side == "left"

    def __call__(self, rows: list[dict]) -> dict:
        batch = self.tokens([{k: v for k, v in row.items() if k in self.inputs} for row in rows])
        width = batch["input_ids"].shape[1]
        padding = [[0] * (width - len(row["word_starts"])) for row in rows]
        batch["word_starts"] = torch.tensor([pad + row["word_starts"] if self.left else row["word_starts"] + pad
                                             for row, pad in zip(rows, padding)])
        for key in rows[0].keys() - self.inputs - {"word_starts"}:
            batch[key] = torch.tensor([row[key] for row in rows])
        return batch


def padded_words(rows: list[dict], length: int) -> dict[str, torch.Tensor]:
    """Tagged rows' `labels` padded with -100 (what the loss skips) and `word_starts` with 0, on the right, to
    `length` tokens: for collators that pad inputs their own way (the ELMo step's biLM and cached layers)."""
    batch = {column: torch.full((len(rows), length), pad, dtype=torch.long)
             for column, pad in (("labels", -100), ("word_starts", 0))}
    for column, padded in batch.items():
        for i, row in enumerate(rows):
            padded[i, :len(row[column])] = torch.as_tensor(row[column])
    return batch


def word_starts(encoding, rows: int) -> list[list[int]]:
    """On the first piece of each word of each encoded row, the word's number counted from 1; 0 on other pieces
    and special tokens. A word the tokenizer made no piece of (a zero-width space) has no first piece, and the
    words after it keep their places."""
    starts = []
    for i in range(rows):
        ids = encoding.word_ids(i)
        starts.append([w + 1 if w is not None and (j == 0 or ids[j - 1] != w) else 0 for j, w in enumerate(ids)])
    return starts


class TokenClassification(TaskType):
    """A tag per word (named entities as IOB2 tags): a softmax per word read on its first piece, cross-entropy,
    and entity-level F1 (seqeval: an entity counts when its type and every word of its span are right)."""

    name = "token_classification"
    problem_type = None  # transformers' token heads always use cross-entropy
    reads_words = True
    auto_model = AutoModelForTokenClassification
    families = MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES
    pipeline_task = "token-classification"
    head_name = "token-classification"
    # Entity spans with offsets, each word's tag read on its first piece, as the model was trained and scored.
    pipeline_options = ', aggregation_strategy="first"'
    main_metric = "f1"
    metrics = {"f1": "entity F1", "precision": "entity precision", "recall": "entity recall",
               "token_accuracy": "token accuracy"}
    options = ("label_all_tokens", "class_weights")
    description = "token classifier (an IOB2 tag per word)"
    builtin, generated, builtin_name = "build_tagged", "unlabeled_tagged", "builtin-ner"

    def accepts(self, feature) -> bool:
        return isinstance(feature, List)

    def read(self, splits, column, spec, *, words=None):
        classes = getattr(splits["train"].features[column], "feature", None)  # the hub's List(ClassLabel)
        for split, rows in splits.items():
            for i, (tokens, tags) in enumerate(zip(rows[words], rows[column])):
                if not isinstance(tags, list) or not isinstance(tokens, list) or len(tokens) != len(tags):
                    raise UsageError(
                        f"the {split} split's row {i + 1} has {_count(tokens, 'word')} and {_count(tags, 'tag')} "
                        f"(columns '{words}' and '{column}'); every word needs exactly one tag")
                bad = next((w for w in tokens if not isinstance(w, str) or not WORD.fullmatch(w)), "")
                if bad != "":
                    raise UsageError(f"the {split} split's row {i + 1} has the word {bad!r} in column '{words}'; a "
                                     "word is visible characters without spaces (split it, or drop the row)")
        train = [tag for tags in splits["train"][column] for tag in tags]
        integers = {type(t) for t in train} <= {int}
        if integers:
            if isinstance(classes, ClassLabel):
                names = list(classes.names)
            elif spec.label_names:
                names = [n.strip() for n in spec.label_names.split(",")]
            else:
                raise UsageError(f"the tags in column '{column}' are integers; name them in id order with "
                                 "--label_names, e.g. 'O,B-PER,I-PER,B-LOC,I-LOC'")
            bad = next((t for t in train if not 0 <= t < len(names)), None)
            if bad is not None:
                given = "the data set's tag names" if isinstance(classes, ClassLabel) else "--label_names"
                raise UsageError(f"training tag {bad} has no name: {given} name{'s' if given == '--label_names' else ''} "
                                 f"ids 0 to {len(names) - 1}")
        else:
            names = [str(t) for t in dict.fromkeys(train)]
            mapping = {}
        bad = [name for name in names if not IOB2_TAG.match(name)]
        if bad:
            raise UsageError(f"tag {bad[0]!r} is not IOB2: entity tags are 'O', 'B-TYPE' (a span's first word) and "
                             "'I-TYPE' (the words after it); convert IOB1 or BIOES tags to IOB2 first")
        # One order for every data set: 'O', then B- and I- of each type, so ids alone say where entities are.
        types = sorted({name[2:] for name in names if name != "O"})
        canonical = ["O", *(f"{prefix}-{kind}" for kind in types for prefix in "BI")]
        mapping = {(str(i) if integers else name): canonical.index(name) for i, name in enumerate(names)
                   if name in canonical}
        names = canonical
        for split, rows in splits.items():
            for i, tags in enumerate(rows[column]):
                unknown = [t for t in tags if str(t) not in mapping]
                if unknown:
                    raise UsageError(f"the {split} split's row {i + 1} has tag {unknown[0]!r}, which no training "
                                     f"row has ({', '.join(names)}); a model cannot learn a tag it never saw")

        def encode(batch, rows_at):
            return {column: [[mapping[str(t)] for t in tags] for tags in batch[column]]}

        lengths = [len(tokens) for tokens in splits["train"][words]]
        return Labels(_encoded(splits, column, List(ClassLabel(names=names)), encode), names, mapping,
                      {"entity_types": types, "words_per_row": float(np.mean(lengths)),
                       "entities_per_row": sum(mapping[str(t)] % 2 == 1 for t in train) / len(lengths)})

    def tokenize(self, batch, tokenizer, max_length, *, all_pieces=False):
        """Words split into pieces; each word's tag on its first piece (every piece with `all_pieces`), -100 on
        the rest and on special tokens, so the loss and the metrics count each word once."""
        encoded = tokenizer(batch["tokens"], is_split_into_words=True, truncation=True, max_length=max_length)
        encoded["word_starts"] = word_starts(encoded, len(batch["tokens"]))
        encoded["label"] = [
            [tags[w] if w is not None and (first or all_pieces) else -100
             for w, first in zip(encoded.word_ids(i), starts)]
            for i, (tags, starts) in enumerate(zip(batch["label"], encoded["word_starts"]))]
        return encoded

    def collator(self, tokenizer):
        return WordCollator(tokenizer)

    def hard_loss(self, logits, labels, *, weights=None):
        """Cross-entropy of each row's tagged pieces (-100 elsewhere), averaged over them."""
        per_piece = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), weight=weights,
                                    ignore_index=-100, reduction="none").view(labels.shape)
        return per_piece.sum(1) / (labels != -100).sum(1).clamp(min=1)

    def soft_loss(self, logits, teacher_logits, temperature):
        """T^2 KL(teachers' softened tags || the student's) per word, averaged over each row's words; `logits` are
        the student's per word ([batch, words, tags]), the teachers' [batch, teachers, words, tags], NaN past a
        row's words on either side."""
        words = min(logits.shape[1], teacher_logits.shape[2])
        student, teacher = logits[:, :words].float(), teacher_logits[:, :, :words].float()
        seen = ~torch.isnan(student[..., 0]) & ~torch.isnan(teacher[..., 0]).any(1)
        targets = F.softmax(torch.nan_to_num(teacher) / temperature, dim=-1).mean(dim=1)
        log_student = F.log_softmax(torch.nan_to_num(student) / temperature, dim=-1)
        kl = F.kl_div(log_student, targets, reduction="none").sum(-1) * seen
        return temperature ** 2 * kl.sum(1) / seen.sum(1).clamp(min=1)

    def linear_model(self, classifier, regularization, seed, *, class_weights=None):  # over words' window features
        return SingleLabel().linear_model(classifier, regularization, seed, class_weights=class_weights)

    def linear_inputs(self, texts, labels):
        """Sentences as lists of words, and every word's tag id, in order."""
        return [[word for word, _, _ in self.words(text)] for text in texts], np.asarray(
            [tag for tags in labels for tag in tags])

    def linear_outputs(self, model, texts):
        """Each word's tag probabilities ([texts, words, tags], NaN past a text's words)."""
        sentences, _ = self.linear_inputs(texts, [])
        flat = model.predict_proba(sentences)
        classes = model.classes_
        outputs = np.full((len(sentences), max([len(s) for s in sentences] + [1]), int(classes.max()) + 1), np.nan)
        start = 0
        for i, words in enumerate(sentences):
            row = outputs[i, :len(words)]
            row[:] = 0.0
            row[:, classes] = flat[start:start + len(words)]
            start += len(words)
        return outputs

    def words(self, text: str) -> list[tuple[str, int, int]]:
        """A sentence's words (what spaces separate) with their character offsets."""
        return [(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]

    def outputs(self, logits):
        """[rows, words, tags] logits (NaN past a row's words) -> each word's tag probabilities."""
        return _softmax(logits)

    def decide(self, outputs, threshold):
        outputs = np.asarray(outputs)
        ids = np.nan_to_num(outputs, nan=-np.inf).argmax(-1)
        ids[np.isnan(outputs[..., 0])] = -1  # past the row's words (or past what truncation kept)
        return ids

    def references(self, column):
        return self.stack(list(column))

    def encoded_references(self, rows):
        """Each word's tag at its place (read on its first piece), -1 where a word has no piece."""
        references = []
        for labels, starts in zip(rows["labels"], rows["word_starts"]):
            row = [-1] * max(starts, default=0)
            for tag, start in zip(labels, starts):
                if start:
                    row[start - 1] = tag
            references.append(row)
        return self.stack(references)

    def trivial(self, train_labels, references):
        return "every word 'O' (no entity)", np.where(np.asarray(references) >= 0, 0, -1)

    def stack(self, predictions):
        """Tag-id rows of any lengths as one array, -1 past each row's end."""
        width = max([len(row) for row in predictions] + [1])
        stacked = np.full((len(predictions), width), -1, dtype=np.int64)
        for i, row in enumerate(predictions):
            stacked[i, :len(row)] = row
        return stacked

    def _sequences(self, predictions, references, names=None) -> tuple[list[list[str]], list[list[str]]]:
        """Tags per sentence (the names, or ids as 'B-3', which is all seqeval needs: read() put the tags in one
        order), the predictions cut to each sentence's length; words a model never saw (cut off by its
        max_length) are predicted 'O'."""

        def tag(i: int) -> str:
            return "O" if i <= 0 else names[i] if names else f"{'BI'[(i - 1) % 2]}-{(i - 1) // 2}"

        width = max(predictions.shape[1], references.shape[1])
        predictions = np.pad(predictions, ((0, 0), (0, width - predictions.shape[1])), constant_values=-1)
        references = np.pad(references, ((0, 0), (0, width - references.shape[1])), constant_values=-1)
        gold, guessed = [], []
        for predicted, reference in zip(predictions, references):
            words = reference >= 0  # word by word at their places: a word a model never saw is predicted 'O'
            gold.append([tag(t) for t in reference[words]])
            guessed.append([tag(t) for t in predicted[words]])
        return guessed, gold

    def validation_scores(self, predictions, references):
        guessed, gold = self._sequences(predictions, references)
        scores = load_metric("seqeval").compute(predictions=guessed, references=gold)
        return {name: scores[name] for name in self.metrics}

    def statistic(self, predictions, references):
        """Entity F1 of resampled sentences: found, predicted and gold entities summed over the sample."""
        guessed, gold = self._sequences(predictions, references)
        predicted = [{e.to_tuple()[1:] for e in sentence} for sentence in Entities(guessed, IOB2).entities]
        true = [{e.to_tuple()[1:] for e in sentence} for sentence in Entities(gold, IOB2).entities]
        found = np.asarray([len(p & t) for p, t in zip(predicted, true)], dtype=np.float64)
        both = np.asarray([len(p) + len(t) for p, t in zip(predicted, true)], dtype=np.float64)

        def f1(index: np.ndarray) -> np.ndarray:
            denominator = both[index].sum(1)
            return np.divide(2 * found[index].sum(1), denominator, out=np.zeros(len(index)), where=denominator > 0)

        return f1

    def breakdown(self, predictions, references, names):
        guessed, gold = self._sequences(predictions, references, names)
        return {"per_class": load_metric("seqeval").compute(predictions=guessed, references=gold)["per_type"]}

    def format(self, prediction, names):
        """The tags of a row's words, one per word ('O' for a word the model never saw)."""
        prediction = list(prediction)
        while prediction and prediction[-1] < 0:
            prediction.pop()
        return " ".join(names[t] if t >= 0 else "O" for t in prediction)

    def parse(self, text, names):
        return [names.index(tag) for tag in text.split()]

    def readable(self, output, names, threshold, text):
        """Entity spans as transformers' token-classification pipeline gives them (aggregation 'first': each
        word's tag and score read on its first piece): type, mean score of its words, the words, and character
        offsets into `text`."""
        spans, current = [], None
        for (_, start, end), probabilities in zip(self.words(text), output):
            tag = names[int(np.argmax(probabilities))]
            if tag == "O":
                current = None
                continue
            if tag.startswith("B-") or current is None or current["entity_group"] != tag[2:]:
                current = {"entity_group": tag[2:], "scores": [], "start": start}
                spans.append(current)
            current["scores"].append(float(np.max(probabilities)))
            current["end"] = end
        entities = [{"entity_group": s["entity_group"], "score": float(np.mean(s["scores"])),
                     "word": text[s["start"]:s["end"]], "start": s["start"], "end": s["end"]} for s in spans]
        line = "; ".join(f"{e['entity_group']} {e['word']} {e['score']:.4f}" for e in entities)
        return {"entities": entities}, line or "(no entities)"


def _count(values, noun: str) -> str:
    if not isinstance(values, list):
        return f"no list of {noun}s ({values!r})"
    return f"{len(values)} {noun}{'s' if len(values) != 1 else ''}"


def _encoded(splits: DatasetDict, column: str, feature, encode: Callable) -> DatasetDict:
    """Every split's label column through encode(batch, row indices), typed as `feature`."""
    return DatasetDict({split: rows.map(encode, batched=True, with_indices=True,
                                        features=Features({**rows.features, column: feature}))
                        for split, rows in splits.items()})


def head_for(label_names: list[str], kind: TaskType) -> dict:
    """What a transformers config needs to build a task's head: its size, label names and problem_type
    (which picks the loss: cross-entropy, binary cross-entropy, mean squared error), and the task type
    (which picks the head class: heads.classifier_class)."""
    head = {"num_labels": kind.num_labels(label_names), "id2label": dict(enumerate(label_names)),
            "label2id": {name: i for i, name in enumerate(label_names)}, "task_type": kind.name}
    return {**head, "problem_type": kind.problem_type} if kind.problem_type else head


# Tried in this order when the data says which type it is; single_label takes whatever the others do not.
TASK_TYPES: dict[str, TaskType] = {task.name: task for task in (TokenClassification(), MultiLabel(), Regression(),
                                                                 SingleLabel())}


def task_type(name: str | None) -> TaskType:
    """A registered type by name (records written before task types were single-label)."""
    return TASK_TYPES[name or SingleLabel.name]


def detect(feature, *, words: bool = False) -> TaskType:
    """The type the data says, unambiguously: rows of words are token classification; otherwise a list label is
    multi-label, a float regression."""
    return next(task for task in TASK_TYPES.values() if task.reads_words == words and (words or task.claims(feature)))


def check_given(given: TaskType, feature, column: str, *, words: bool = False) -> None:
    """A type the user gives must not contradict the data (label sets made numbers, fractions made classes)."""
    if given.reads_words != words:
        raise UsageError(f"--task_type {given.name} does not fit this data: "
                         + ("its rows are texts; a tag per word needs a column of word lists (e.g. 'tokens')"
                            if given.reads_words else "its rows are lists of words with a tag each, which is "
                            "token_classification; leave --task_type out"))
    if given.accepts(feature):
        return
    found = detect(feature, words=words)
    raise UsageError(f"--task_type {given.name} does not fit label column '{column}' ({feature}), which holds "
                     f"{found.name.replace('_', '-')} labels; leave --task_type out to use them as they are")
