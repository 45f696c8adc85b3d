"""Load any finished run for prediction, whatever model it holds: the user never tokenizes by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import joblib
import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from .errors import UsageError
from .evaluation import model_predictor
from .ngrams import FastTextClassifier
from .records import RECORD
from .recurrent import RecurrentClassifier
from .word2vec import VectorClassifier

TORCH_CLASSES = {"RecurrentClassifier": RecurrentClassifier, "FastTextClassifier": FastTextClassifier}


@dataclass
class Predictor:
    label_names: list[str]
    predict_proba: Callable[[list[str]], np.ndarray]
    record: dict


def load_predictor(run_dir: str | Path) -> Predictor:
    run_dir = Path(run_dir)
    record_path = run_dir / RECORD
    if not record_path.is_file():
        raise UsageError(f"'{run_dir}' is not a finished run (no {RECORD}); give a folder under outputs/")
    record = json.loads(record_path.read_text())
    folder, kind = run_dir / "model", record["model"].get("class")
    labels = record["task"]["label_names"]
    if kind == "sklearn":
        return Predictor(labels, joblib.load(folder / "pipeline.joblib")["pipeline"].predict_proba, record)
    if kind == "word2vec":
        return Predictor(labels, VectorClassifier.load(folder).predict_proba, record)
    model = (TORCH_CLASSES[kind].from_pretrained(folder) if kind in TORCH_CLASSES
             else AutoModelForSequenceClassification.from_pretrained(folder))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    max_length = record["config"].get("sequence_length") or record["config"].get("max_length") or 512
    logits = model_predictor(model.eval(), tokenizer, torch.device("cpu"), max_length)
    return Predictor(labels, lambda texts: torch.softmax(torch.from_numpy(logits(texts)), -1).numpy(), record)
