"""Metrics through `evaluate` (modules shipped in ./metrics, so they load offline), breakdowns, speed."""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

import evaluate
import numpy as np
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader

METRICS = Path(__file__).parent / "metrics"
MAIN_METRIC = "accuracy"
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@lru_cache(maxsize=None)
def load_metric(name: str) -> evaluate.EvaluationModule:
    """A metric module shipped inside the package: accuracy, f1 or matthews_correlation."""
    return evaluate.load(str(METRICS / name))


@torch.no_grad()
def predict(model: torch.nn.Module, loader: DataLoader, accelerator: Accelerator) -> np.ndarray:
    """Logits for every example of a prepared loader, gathered from all processes in dataset order."""
    model.eval()
    chunks = []
    for batch in loader:
        batch = {k: v for k, v in batch.items() if k in MODEL_INPUTS}
        logits = model(**batch).logits
        chunks.append(accelerator.gather_for_metrics(logits).float().cpu())
    return torch.cat(chunks).numpy()


def score(logits: np.ndarray, labels, label_names: list[str], phenomena=None, seed: int = 0) -> dict:
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


@torch.no_grad()
def measure_speed(model: torch.nn.Module, tokenizer, texts: list[str], device: torch.device,
                  batch_size: int = 64, max_length: int = 128, latency_samples: int = 50) -> dict:
    """Throughput at `batch_size` and single-sentence latency on this machine, after one warm-up batch."""
    model.eval()
    texts = list(texts)[:512]

    def run(chunk):
        batch = tokenizer(chunk, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        model(**batch.to(device))

    run(texts[:batch_size])
    start = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        run(texts[i:i + batch_size])
    throughput = len(texts) / (time.perf_counter() - start)
    latencies = []
    for text in texts[:latency_samples]:
        start = time.perf_counter()
        run([text])
        latencies.append(time.perf_counter() - start)
    return {"samples_per_second": throughput, "latency_ms_p50": 1000 * float(np.median(latencies)),
            "batch_size": batch_size, "device": str(device), "threads": torch.get_num_threads()}


def evaluate_test(model: torch.nn.Module, tokenizer, encoded_test, task, collate, accelerator: Accelerator,
                  batch_size: int, max_length: int, seed: int = 0) -> tuple[dict, np.ndarray]:
    """Test metrics with breakdowns and speed (measured on one device), and the predicted class ids."""
    loader = accelerator.prepare(DataLoader(encoded_test, batch_size=batch_size, collate_fn=collate,
                                            generator=torch.Generator().manual_seed(seed)))
    logits = predict(model, loader, accelerator)
    test = task.splits["test"]
    phenomena = list(test["phenomenon"]) if "phenomenon" in test.column_names else None
    metrics = score(logits, list(test["label"]), task.label_names, phenomena, seed=seed)
    unwrapped = accelerator.unwrap_model(model)
    texts = list(test["text"]) if not task.is_pair else [a + " " + b for a, b in zip(test["text"], test["text_pair"])]
    metrics["speed"] = measure_speed(unwrapped, tokenizer, texts, accelerator.device, batch_size, max_length)
    return metrics, logits.argmax(-1)
