"""Load any finished run for prediction, whatever model it holds: the user never tokenizes by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification

from .errors import UsageError
from .evaluation import model_predictor
from .ngrams import FastTextClassifier
from .elmo.model import ELMoClassifier
from .export import EXPORTS, onnx_predictor
from .models import load_tokenizer
from .records import PREDICTIONS, RECORD
from .recurrent import RecurrentClassifier
from .word2vec import VectorClassifier, load_sklearn

TORCH_CLASSES = {"RecurrentClassifier": RecurrentClassifier, "FastTextClassifier": FastTextClassifier,
                 "ELMoClassifier": ELMoClassifier}


@dataclass
class Predictor:
    label_names: list[str]
    predict_proba: Callable[[list[str]], np.ndarray]
    record: dict


def load_predictor(run_dir: str | Path, *, export: str | None = None) -> Predictor:
    """Any finished run as texts -> probabilities; `export` ('onnx', 'onnx-int8') picks an exported model."""
    run_dir = Path(run_dir)
    record_path = run_dir / RECORD
    if not record_path.is_file():
        raise UsageError(f"'{run_dir}' is not a finished run (no {RECORD}); give a folder under outputs/")
    record = json.loads(record_path.read_text())
    folder, kind = run_dir / "model", record["model"].get("class")
    labels = record["task"]["label_names"]
    max_length = record["config"].get("sequence_length") or record["config"].get("max_length") or 512
    if export is not None:
        path = folder / "onnx" / EXPORTS.get(export, "?")
        if not path.is_file():
            raise UsageError(f"run '{run_dir}' has no '{export}' export; runs of recipes/distill.py have "
                             f"{', '.join(EXPORTS)}")
        logits = onnx_predictor(path, load_tokenizer(str(folder)), max_length=max_length)
        return Predictor(labels, lambda texts: _softmax(logits(texts)), record)
    if kind == "sklearn":
        return Predictor(labels, load_sklearn(folder / "pipeline.skops").predict_proba, record)
    if kind == "word2vec":
        return Predictor(labels, VectorClassifier.load(folder).predict_proba, record)
    model = (TORCH_CLASSES[kind].from_pretrained(folder) if kind in TORCH_CLASSES
             else AutoModelForSequenceClassification.from_pretrained(folder))
    tokenizer = load_tokenizer(str(folder))
    if hasattr(model, "text_inputs"):  # models that read more than token ids (the biLM reads characters)
        tokenizer = model.text_inputs(tokenizer)
    logits = model_predictor(model.eval(), tokenizer, torch.device("cpu"), max_length)
    return Predictor(labels, lambda texts: _softmax(logits(texts)), record)


def _softmax(logits: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.from_numpy(logits).float(), -1).numpy()


def read_predictions(run_dir: str | Path, label_names: list[str]) -> np.ndarray:
    """A run's test predictions (its GLUE-style file) as class ids, in test order."""
    lines = (Path(run_dir) / PREDICTIONS).read_text().splitlines()[1:]
    index = {name: i for i, name in enumerate(label_names)}
    return np.asarray([index[line.split("\t", 1)[1]] for line in lines])
