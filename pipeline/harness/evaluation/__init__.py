"""Running models for evaluation: logits in row order, the task type's outputs, test metrics, speed.

What the metrics are, and how logits become predictions, is the task type's (harness/tasks.py); the
statistics themselves (metric modules shipped in ./metrics, intervals, paired tests) are in harness/scoring.py.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader

from ..data.encoding import joined_texts, length_order, tokenize_texts
from ..data.spec import Task
from ..scoring import bootstrap_interval
from ..tasks import TaskType, word_starts


# What models read from a batch: tokens, and for the ELMo step characters (biLM) or cached layers.
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "char_ids", "features")


def per_word(logits: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """[batch, pieces, tags] logits -> [batch, words, tags], each word's read on its first piece (`starts`: the
    word's number from 1 there, tasks.word_starts), NaN past a row's words and for a word with no piece."""
    words = int(starts.max()) if starts.numel() else 0
    out = logits.new_full((len(logits), words, logits.shape[-1]), float("nan"))
    rows, pieces = starts.nonzero(as_tuple=True)
    out[rows, starts[rows, pieces] - 1] = logits[rows, pieces]
    return out


def row_logits(logits: torch.Tensor, batch) -> torch.Tensor:
    """A batch's logits, one row per example: per word where the batch says where words start."""
    return per_word(logits, batch["word_starts"]) if "word_starts" in batch else logits


def joined(chunks: list) -> np.ndarray:
    """Batches of logits (tensors or arrays) as one array; per-word batches are padded (with NaN) to the longest
    row's words."""
    chunks = [np.asarray(chunk) for chunk in chunks]
    if chunks and chunks[0].ndim == 3:
        width = max(chunk.shape[1] for chunk in chunks)
        chunks = [np.pad(c, ((0, 0), (0, width - c.shape[1]), (0, 0)), constant_values=np.nan) for c in chunks]
    return np.concatenate(chunks)


@torch.no_grad()
def predict(model: torch.nn.Module, loader: DataLoader, accelerator: Accelerator) -> np.ndarray:
    """Logits for every example of a prepared loader, gathered from all processes in dataset order."""
    model.eval()
    chunks = []
    for batch in loader:  # a model not prepared by accelerate (a teacher) is on the loader's device too
        logits = row_logits(model(**{k: v for k, v in batch.items() if k in MODEL_INPUTS}).logits, batch)
        if logits.dim() == 3:  # words per row differ between processes
            logits = accelerator.pad_across_processes(logits, dim=1, pad_index=float("nan"))
        chunks.append(accelerator.gather_for_metrics(logits).float().cpu())
    return joined(chunks)


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


def score(outputs: np.ndarray, task: Task, split: str = "test", *, threshold: float | None = None,
          seed: int = 0) -> tuple[dict, np.ndarray]:
    """A split's metrics from a model's outputs (the task type's: probabilities or numbers), with the
    main metric's bootstrap interval and, for the built-in data, per phenomenon; and the predictions.
    `threshold`: a multi-label decision threshold other than the task's (one tuned on validation)."""
    rows = task.splits[split]
    threshold = task.threshold if threshold is None else threshold
    predictions = task.task_type.decide(outputs, threshold)
    phenomena = list(rows["phenomenon"]) if "phenomenon" in rows.column_names else None
    metrics = task.task_type.score(predictions, task.task_type.references(rows["label"]), task.label_names,
                                   phenomena=phenomena, seed=seed)
    if "threshold" in task.task_type.options:
        metrics["threshold"] = threshold
    return metrics, predictions


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


def text_batch(tokenizer, texts: list[str], *, kind: TaskType | None, max_length: int, tensors: str) -> dict:
    """Texts as a padded batch of model inputs, as predictors take them; a tagger's (`kind` reads words) with
    each text's words (TaskType.words) and `word_starts`."""
    options = {"padding": True, "truncation": True, "max_length": max_length, "return_tensors": tensors}
    if kind is None or not kind.reads_words:
        return dict(tokenize_texts(tokenizer, texts, **options))
    batch = tokenizer([[word for word, _, _ in kind.words(text)] for text in texts], is_split_into_words=True,
                      **options)
    starts = np.asarray(word_starts(batch, len(texts)))
    return {**batch, "word_starts": torch.from_numpy(starts) if tensors == "pt" else starts}


def model_predictor(model: torch.nn.Module, tokenizer, device, max_length: int, *, batch_size: int = 64,
                    kind: TaskType | None = None) -> Callable[[list[str]], np.ndarray]:
    """texts -> logits (in the texts' order) for a model that takes a tokenizer's output; a model that tags
    words (`kind` reads words) gets each text's words (TaskType.words) and gives logits per word.

    Texts are batched `batch_size` at a time in order of length, so a batch pads to lengths close to
    its own: with sentences of mixed lengths most of the work padding would cost is skipped.
    """
    @torch.no_grad()
    def run(texts: list[str]) -> np.ndarray:
        model.eval()
        order = np.argsort([len(text) for text in texts], kind="stable")
        chunks = []
        for start in range(0, len(texts), batch_size):
            batch = text_batch(tokenizer, [texts[i] for i in order[start:start + batch_size]], kind=kind,
                               max_length=max_length, tensors="pt")
            batch = {k: v.to(device) for k, v in batch.items()}
            logits = model(**{k: v for k, v in batch.items() if k in MODEL_INPUTS}).logits
            chunks.append(row_logits(logits, batch).float().cpu())
        return joined(chunks)[np.argsort(order, kind="stable")]

    return run


def evaluate_test(model: torch.nn.Module, tokenizer, encoded, task, *, collate, accelerator: Accelerator,
                  batch_size: int, max_length: int, seed: int = 0) -> tuple[dict, np.ndarray]:
    """Test metrics with breakdowns and speed (measured on one device), and the predictions; `encoded` holds
    the encoded test split (and validation, where a multi-label threshold is tuned on it)."""
    def outputs(split: str) -> np.ndarray:
        return task.task_type.outputs(predict_rows(model, encoded[split], collate=collate, batch_size=batch_size,
                                                   accelerator=accelerator, seed=seed))

    metrics, predictions = score_model(outputs, task, seed=seed)
    unwrapped = accelerator.unwrap_model(model)
    metrics["speed"] = measure_speed(model_predictor(unwrapped, tokenizer, accelerator.device, max_length,
                                                     kind=task.task_type),
                                     joined_texts(task.splits["test"]), batch_size)
    metrics["speed"]["device"] = str(accelerator.device)
    return metrics, predictions


def evaluate_texts(predict_outputs: Callable[[list[str]], np.ndarray], task, seed: int = 0,
                   batch_size: int = 64) -> tuple[dict, np.ndarray]:
    """Test metrics and speed of any texts -> outputs function (scikit-learn, gensim models); a multi-label
    task with --tune_threshold first picks its threshold on the validation split."""
    metrics, predictions = score_model(lambda split: texts_outputs(predict_outputs, task, split), task, seed=seed)
    metrics["speed"] = {**measure_speed(predict_outputs, joined_texts(task.splits["test"]), batch_size),
                        "device": "cpu"}
    return metrics, predictions


def texts_outputs(predict_outputs: Callable[[list[str]], np.ndarray], task: Task, split: str) -> np.ndarray:
    """A texts -> outputs function's outputs on a split, in chunks."""
    texts = joined_texts(task.splits[split])
    return joined([predict_outputs(texts[i:i + 4096]) for i in range(0, len(texts), 4096)])


def score_model(outputs: Callable[[str], np.ndarray], task: Task, *, seed: int = 0) -> tuple[dict, np.ndarray]:
    """Test metrics of a model given as split -> outputs; with --tune_threshold (multi-label), the decision
    threshold is first the one that scores best on the validation split, as every step of the road tunes it."""
    threshold = None
    if task.tunes_threshold:
        validation = task.task_type.references(task.splits["validation"]["label"])
        threshold = task.task_type.tune_threshold(outputs("validation"), validation)
    return score(outputs("test"), task, threshold=threshold, seed=seed)


def decide_validation(task: Task, outputs: np.ndarray, references: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Validation rows' decisions, at the threshold tuned on those rows where the task tunes one (multi-label), else
    at the task's: how each epoch is judged, and how a teacher from elsewhere is checked against the trivial guess."""
    threshold = task.task_type.tune_threshold(outputs, references) if task.tunes_threshold else None
    return task.task_type.decide(outputs, task.threshold if threshold is None else threshold), threshold


TRIVIAL_ALPHA = 0.01  # a fine-tune has learned when it beats the trivial guess at this significance


def versus_trivial(task: Task, decisions: dict[str, np.ndarray], *, seed: int = 0) -> dict:
    """The fine-tune guard: does the model's best validation epoch beat the task type's trivial guess (the majority
    class, the best constant label set, the training mean, every word 'O') on the same validation rows, with the
    type's paired test? And what that guess scores on the test split, for the result tables and the leaderboard.

    A model that never left its label prior scores what the guess scores, and its table looks like a result."""
    kind, train = task.task_type, task.splits["train"]["label"]
    references = decisions["references"]
    name, guess = kind.trivial(train, references)
    everything = np.arange(len(references))[None]
    model_score = float(kind.statistic(decisions["predictions"], references)(everything)[0])
    guess_score = float(kind.statistic(guess, references)(everything)[0])
    test = kind.paired_test(decisions["predictions"], guess, references, seed=seed)
    test_references = kind.references(task.splits["test"]["label"])
    _, test_guess = kind.trivial(train, test_references)
    statistic = kind.statistic(test_guess, test_references)
    return {"guess": name, "metric": kind.main_metric,
            "validation": {"score": model_score, "guess": guess_score, "difference": model_score - guess_score,
                           "test": test["test"], "p_value": test["p_value"],
                           "learned": model_score > guess_score and test["p_value"] < TRIVIAL_ALPHA},
            # + 0.0: a constant's correlation is 0, never the -0.0 that rounding can print
            "test": {"score": float(statistic(np.arange(len(test_references))[None])[0]) + 0.0,
                     "ci95": [bound + 0.0 for bound in bootstrap_interval(statistic, len(test_references),
                                                                           seed=seed)]}}


def trivial_line(found: dict, kind: TaskType) -> str:
    """The guard's verdict in one line, for the recipe's output."""
    check = found["validation"]
    figures = (f"validation {kind.metrics[found['metric']]} {check['score']:.4f} against {check['guess']:.4f} for "
               f"{found['guess']} ({check['difference']:+.4f}, {check['test']} p={check['p_value']:.2g})")
    return ("beat the trivial guess: " if check["learned"] else "did not beat the trivial guess: ") + figures
