"""The comparison a practitioner needs: teacher and students on the same test sentences, timed side by side."""

from __future__ import annotations

import statistics
import time
from typing import Callable

import numpy as np
import torch

from ...harness.tasks import TaskType


def interleaved_speed(predictors: dict[str, Callable[[list[str]], object]], texts: list[str], *,
                      rounds: int = 5, batch_size: int = 64, batch_texts: int = 256,
                      latency_texts: int = 48) -> dict[str, dict]:
    """Throughput at `batch_size` and at batch 1 for every predictor, timed in interleaved rounds.

    Each round times every predictor back to back on the same sentences, so load on a shared
    machine touches them all alike; the median over rounds is reported.
    """
    texts = list(texts)
    batched, single = texts[:batch_texts], texts[:latency_texts]
    timings = {name: {"batched": [], "single": []} for name in predictors}
    for predict in predictors.values():  # warm-up: first calls allocate and pick kernels
        predict(batched[:batch_size])
        predict(single[:1])
    for _ in range(rounds):
        for name, predict in predictors.items():
            start = time.perf_counter()
            for i in range(0, len(batched), batch_size):
                predict(batched[i:i + batch_size])
            timings[name]["batched"].append(len(batched) / (time.perf_counter() - start))
            start = time.perf_counter()
            for text in single:
                predict([text])
            timings[name]["single"].append(len(single) / (time.perf_counter() - start))
    return {name: {"samples_per_second": statistics.median(t["batched"]),
                   "samples_per_second_batch1": statistics.median(t["single"]),
                   "batch_size": batch_size, "rounds": rounds, "threads": torch.get_num_threads()}
            for name, t in timings.items()}


def comparison_rows(rows: list[dict], *, labels: np.ndarray, kind: TaskType, speed: dict[str, dict],
                    baseline: str) -> list[dict]:
    """Each row: the task type's main metric, size, speed against the teacher (the first row), and against
    `baseline` the paired test that fits the metric (exact McNemar for accuracy, else a paired bootstrap).

    A row is {"model", "init", "predictions", "metrics", "parameters", "size_mb"}; predictions are the
    task type's (class ids, multi-hot rows, numbers) on the test sentences, in order.
    """
    teacher = rows[0]
    base = next(row for row in rows if row["model"] == baseline)
    metric = kind.main_metric
    table = []
    for row in rows:
        timing = speed[row["model"]]
        entry = {"model": row["model"], "init": row.get("init"), "metric": kind.metrics[metric],
                 "score": row["metrics"][metric],
                 "ci95": row["metrics"][f"{metric}_ci95"], "parameters": row["parameters"],
                 "size_mb": row["size_mb"], "per_phenomenon": row["metrics"].get("per_phenomenon", {}),
                 "samples_per_second": timing["samples_per_second"],
                 "samples_per_second_batch1": timing["samples_per_second_batch1"],
                 # A teacher that scores 0 (an entity F1 before it finds any entity) has nothing to retain.
                 "retention": (row["metrics"][metric] / teacher["metrics"][metric]
                               if teacher["metrics"][metric] else None),
                 "speedup": timing["samples_per_second"] / speed[teacher["model"]]["samples_per_second"],
                 "speedup_batch1": (timing["samples_per_second_batch1"]
                                    / speed[teacher["model"]]["samples_per_second_batch1"]),
                 "smaller": teacher["size_mb"] / row["size_mb"] if row["size_mb"] and teacher["size_mb"] else None,
                 "timing": {k: timing[k] for k in ("batch_size", "rounds", "threads")}}
        if row is not base and row is not teacher:
            entry["versus_baseline"] = kind.paired_test(row["predictions"], base["predictions"], labels)
        table.append(entry)
    return table
