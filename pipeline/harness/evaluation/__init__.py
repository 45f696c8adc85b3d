"""Metrics through `evaluate` (modules shipped in ./metrics, so they load offline), breakdowns, speed."""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path
from typing import Callable

import evaluate
import numpy as np
import torch
from accelerate import Accelerator
from scipy.stats import binomtest
from torch.utils.data import DataLoader

METRICS = Path(__file__).parent / "metrics"
from ..data.encoding import joined_texts, length_order, tokenize_texts

MAIN_METRIC = "accuracy"
# What models read from a batch: tokens, and for the ELMo step characters (biLM) or cached layers.
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "char_ids", "features")


@lru_cache(maxsize=None)
def load_metric(name: str) -> evaluate.EvaluationModule:
    """A metric module shipped inside the package: accuracy, f1 or matthews_correlation."""
    return evaluate.load(str(METRICS / name))


@torch.no_grad()
def predict(model: torch.nn.Module, loader: DataLoader, accelerator: Accelerator) -> np.ndarray:
    """Logits for every example of a prepared loader, gathered from all processes in dataset order."""
    model.eval()
    chunks = []
    for batch in loader:  # a model not prepared by accelerate (a teacher) is on the loader's device too
        batch = {k: v for k, v in batch.items() if k in MODEL_INPUTS}
        logits = model(**batch).logits
        chunks.append(accelerator.gather_for_metrics(logits).float().cpu())
    return torch.cat(chunks).numpy()


def predict_rows(model: torch.nn.Module, rows, *, collate: Callable, batch_size: int, accelerator: Accelerator,
                 seed: int = 0) -> np.ndarray:
    """Logits for every encoded row, in row order; batched shortest first, so batches hold little padding."""
    order = length_order(rows)
    loader = accelerator.prepare(DataLoader(rows.select(order), batch_size=batch_size, collate_fn=collate,
                                            generator=torch.Generator().manual_seed(seed)))
    in_length_order = predict(model, loader, accelerator)
    logits = np.empty_like(in_length_order)
    logits[order] = in_length_order
    return logits


def score(logits: np.ndarray, labels, label_names: list[str], *, phenomena=None, seed: int = 0) -> dict:
    """Main metrics with a bootstrap interval, per-class and (for the built-in data) per-phenomenon accuracy."""
    labels = np.asarray(labels)
    predictions = logits.argmax(-1)
    metrics = {
        "accuracy": load_metric("accuracy").compute(predictions=predictions, references=labels)["accuracy"],
        "f1_macro": load_metric("f1").compute(predictions=predictions, references=labels, average="macro")["f1"],
        "matthews_correlation": load_metric("matthews_correlation").compute(
            predictions=predictions, references=labels)["matthews_correlation"],
    }
    correct = predictions == labels
    metrics["accuracy_ci95"] = bootstrap_interval(correct, seed=seed)
    per_class_f1 = load_metric("f1").compute(predictions=predictions, references=labels, average=None,
                                             labels=list(range(len(label_names))))["f1"]
    metrics["per_class"] = {
        name: {"accuracy": float(correct[labels == i].mean()) if (labels == i).any() else None,
               "f1": float(per_class_f1[i]), "support": int((labels == i).sum())}
        for i, name in enumerate(label_names)
    }
    if phenomena is not None:
        phenomena = np.asarray(phenomena)
        metrics["per_phenomenon"] = {str(p): float(correct[phenomena == p].mean()) for p in dict.fromkeys(phenomena)}
    return metrics


def bootstrap_interval(correct: np.ndarray, samples: int = 1000, seed: int = 0) -> list[float]:
    """Percentile bootstrap 95% interval of the accuracy: how much the test set's luck could move it."""
    rng = np.random.default_rng(seed)
    means = correct[rng.integers(0, len(correct), size=(samples, len(correct)))].mean(axis=1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def mcnemar(a_correct: np.ndarray, b_correct: np.ndarray) -> dict:
    """Exact McNemar test: do two classifiers differ on the same sentences? (binomial test on discordant pairs)."""
    a_only = int((a_correct & ~b_correct).sum())
    b_only = int((~a_correct & b_correct).sum())
    p_value = binomtest(a_only, a_only + b_only, 0.5).pvalue if a_only + b_only else 1.0
    return {"a_only": a_only, "b_only": b_only, "p_value": float(p_value)}


def measure_speed(predict_batch: Callable[[list[str]], object], texts: list[str], batch_size: int = 64,
                  latency_samples: int = 50) -> dict:
    """Throughput at `batch_size` and single-sentence latency of any text -> prediction function."""
    texts = list(texts)[:512]
    predict_batch(texts[:batch_size])  # warm-up
    start = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        predict_batch(texts[i:i + batch_size])
    throughput = len(texts) / (time.perf_counter() - start)
    latencies = []
    for text in texts[:latency_samples]:
        start = time.perf_counter()
        predict_batch([text])
        latencies.append(time.perf_counter() - start)
    return {"samples_per_second": throughput, "latency_ms_p50": 1000 * float(np.median(latencies)),
            "batch_size": batch_size, "threads": torch.get_num_threads()}


def model_predictor(model: torch.nn.Module, tokenizer, device, max_length: int, *,
                    batch_size: int = 64) -> Callable[[list[str]], np.ndarray]:
    """texts -> logits (in the texts' order) for a model that takes a tokenizer's output.

    Texts are batched `batch_size` at a time in order of length, so a batch pads to lengths close to
    its own: with sentences of mixed lengths most of the work padding would cost is skipped.
    """

    @torch.no_grad()
    def run(texts: list[str]) -> np.ndarray:
        model.eval()
        order = np.argsort([len(text) for text in texts], kind="stable")
        chunks = []
        for start in range(0, len(texts), batch_size):
            batch = tokenize_texts(tokenizer, [texts[i] for i in order[start:start + batch_size]], padding=True,
                                   truncation=True, max_length=max_length, return_tensors="pt")
            inputs = {k: v.to(device) for k, v in batch.items() if k in MODEL_INPUTS}
            chunks.append(model(**inputs).logits.float().cpu())
        logits = torch.cat(chunks).numpy()
        return logits[np.argsort(order, kind="stable")]

    return run


def evaluate_test(model: torch.nn.Module, tokenizer, encoded_test, task, *, collate, accelerator: Accelerator,
                  batch_size: int, max_length: int, seed: int = 0) -> tuple[dict, np.ndarray]:
    """Test metrics with breakdowns and speed (measured on one device), and the predicted class ids."""
    logits = predict_rows(model, encoded_test, collate=collate, batch_size=batch_size, accelerator=accelerator,
                          seed=seed)
    test = task.splits["test"]
    phenomena = list(test["phenomenon"]) if "phenomenon" in test.column_names else None
    metrics = score(logits, list(test["label"]), task.label_names, phenomena=phenomena, seed=seed)
    unwrapped = accelerator.unwrap_model(model)
    texts = joined_texts(test)
    metrics["speed"] = measure_speed(model_predictor(unwrapped, tokenizer, accelerator.device, max_length), texts,
                                     batch_size)
    metrics["speed"]["device"] = str(accelerator.device)
    return metrics, logits.argmax(-1)


def evaluate_texts(predict_proba: Callable[[list[str]], np.ndarray], task, seed: int = 0,
                   batch_size: int = 64) -> tuple[dict, np.ndarray]:
    """Test metrics and speed of any texts -> class probabilities function (scikit-learn, gensim models)."""
    test = task.splits["test"]
    texts = joined_texts(test)
    probabilities = np.concatenate([predict_proba(texts[i:i + 4096]) for i in range(0, len(texts), 4096)])
    phenomena = list(test["phenomenon"]) if "phenomenon" in test.column_names else None
    metrics = score(np.log(probabilities + 1e-12), list(test["label"]), task.label_names, phenomena=phenomena,
                    seed=seed)
    metrics["speed"] = {**measure_speed(predict_proba, texts, batch_size), "device": "cpu"}
    return metrics, probabilities.argmax(-1)
