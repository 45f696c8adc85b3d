"""Load any finished run for prediction, whatever model it holds: the user never tokenizes by hand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .harness.errors import UsageError
from .harness.evaluation import model_predictor
from .harness.heads import load_classifier
from .harness.models import load_tokenizer
from .harness.records import RunRecord, read_record, record_task_type
from .harness.runs import RECORD, model_dir
from .harness.tasks import TaskType
from .steps.elmo.model import ELMoClassifier, ELMoTagger
from .steps.export import EXPORTS, onnx_predictor
from .steps.fasttext import FastTextClassifier
from .steps.recurrent import RecurrentClassifier, RecurrentTagger


@dataclass
class Predictor:
    """texts -> outputs as the run's task type gives them: class probabilities, label probabilities (with the
    run's decision threshold), or a number per text."""

    label_names: list[str]
    outputs: Callable[[list[str]], np.ndarray]
    record: RunRecord
    task_type: TaskType
    threshold: float

    def readable(self, texts: list[str]) -> list[tuple[dict, str]]:
        """Each text's prediction for people: a JSON object and a tab-separated line's first columns."""
        return [self.task_type.readable(row, self.label_names, self.threshold, text)
                for row, text in zip(self.outputs(texts), texts)]


def _torch_kind(from_pretrained: Callable) -> Callable[[Path, int, TaskType], Callable[[list[str]], np.ndarray]]:
    """A torch model saved with save_pretrained (safetensors), fed by its folder's tokenizer."""

    def load(folder: Path, max_length: int, kind: TaskType) -> Callable[[list[str]], np.ndarray]:
        model = from_pretrained(folder)
        tokenizer = load_tokenizer(str(folder))
        if hasattr(model, "text_inputs"):  # models that read more than token ids (the biLM reads characters)
            tokenizer = model.text_inputs(tokenizer)
        logits = model_predictor(model.eval(), tokenizer, torch.device("cpu"), max_length, kind=kind)
        return lambda texts: kind.outputs(logits(texts))

    return load


def _sklearn(folder: Path, max_length: int, kind: TaskType) -> Callable[[list[str]], np.ndarray]:
    pipeline = _word2vec_step().load_sklearn(folder / "pipeline.skops")
    return lambda texts: kind.linear_outputs(pipeline, texts)


# How each kind of model a run saves (the record's model["class"]) becomes texts -> outputs. Models
# the project defines are keyed by their class name, which `harness.models.describe_model` records.
MODEL_KINDS: dict[str, Callable[[Path, int, TaskType], Callable[[list[str]], np.ndarray]]] = {
    "transformers": _torch_kind(load_classifier),  # with the read-out its config names (harness/heads.py)
    **{kind.__name__: _torch_kind(kind.from_pretrained) for kind in (RecurrentClassifier, RecurrentTagger, FastTextClassifier,
                                                                       ELMoClassifier, ELMoTagger)},
    "sklearn": _sklearn,
    "word2vec": lambda folder, max_length, kind: _word2vec_step().VectorClassifier.load(folder).outputs,
}


def _word2vec_step():
    """gensim and skops are imported where a linear or word2vec run is loaded, not by every recipe that predicts
    (the GPU check runs where they are not installed)."""
    from .steps import word2vec

    return word2vec


def load_predictor(run_dir: str | Path, *, export: str | None = None) -> Predictor:
    """Any finished run as texts -> outputs; `export` ('onnx', 'onnx-int8') picks an exported model."""
    run_dir = Path(run_dir)
    if not (run_dir / RECORD).is_file():
        raise UsageError(f"'{run_dir}' is not a finished run (no {RECORD}); give a folder under outputs/")
    record = read_record(run_dir)
    folder, labels, kind = model_dir(run_dir), record.task["label_names"], record_task_type(record)
    threshold = record.metrics.get("threshold", 0.5)
    max_length = record.config.get("sequence_length") or record.config.get("max_length") or 512
    if export is not None:
        path = folder / "onnx" / EXPORTS.get(export, "?")
        if not path.is_file():
            raise UsageError(f"run '{run_dir}' has no '{export}' export; runs of recipes/distill.py have "
                             f"{', '.join(EXPORTS)}")
        logits = onnx_predictor(path, load_tokenizer(str(folder)), max_length=max_length, kind=kind)
        return Predictor(labels, lambda texts: kind.outputs(logits(texts)), record, kind, threshold)
    if record.model.get("class", "transformers") not in MODEL_KINDS:
        raise UsageError(f"run '{run_dir}' holds a model of kind '{record.model['class']}', which this version "
                         f"cannot load (it loads {', '.join(MODEL_KINDS)})")
    model_kind = record.model.get("class", "transformers")
    return Predictor(labels, MODEL_KINDS[model_kind](folder, max_length, kind), record, kind, threshold)
