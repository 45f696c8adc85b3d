"""The comparison a practitioner needs: teacher and students on the same test sentences, timed side by side."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
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


def pareto_front(table: list[dict]) -> list[dict]:
    """The rows no other row beats on both counts (faster at batch 1 and at least as good), fastest first."""
    front, best = [], -np.inf
    for row in sorted(table, key=lambda r: -r["samples_per_second_batch1"]):
        if row["score"] > best:
            front.append(row)
            best = row["score"]
    return front


def fastest_near_teacher(table: list[dict], *, within: float = 0.01) -> str:
    """One line: the fastest row at batch 1 whose main metric is within `within` (one point) of the teacher's."""
    teacher = table[0]
    near = [row for row in table if row["score"] >= teacher["score"] - within]
    best = max(near, key=lambda row: row["samples_per_second_batch1"])
    lead = f"{teacher['metric']} {teacher['score']:.4f}"
    if best is teacher:
        closest = max(table[1:], key=lambda row: row["score"], default=None)
        return (f"no student is within one point of the teacher ({lead})"
                + (f"; the closest: {closest['model']}, {closest['score']:.4f}" if closest else ""))
    return (f"fastest within one point of the teacher ({lead}): {best['model']}, {best['score']:.4f}, "
            f"{1000 / best['samples_per_second_batch1']:.2f} ms per sentence at batch 1 "
            f"({best['speedup_batch1']:.1f}x the teacher's speed), "
            + (f"{best['size_mb']:.1f} MB" if best.get("size_mb") else "size unknown"))


def plot_students(table: list[dict], path: Path) -> Path:
    """students.png: each row's main metric with its 95% interval against milliseconds per sentence at batch 1
    (log scale), the marker's area by megabytes on disk, and the Pareto front joined."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5.2))
    sizes = [row.get("size_mb") or 1.0 for row in table]
    largest = max(sizes)
    for row, size, color in zip(table, sizes, plt.cm.tab10.colors):
        ms, (low, high) = 1000 / row["samples_per_second_batch1"], row["ci95"]
        ax.errorbar(ms, row["score"], yerr=[[row["score"] - low], [high - row["score"]]], fmt="none",
                    ecolor=color, capsize=3, zorder=1)
        ax.scatter(ms, row["score"], s=40 + 500 * (size / largest) ** 0.5, color=color, alpha=0.6, edgecolor="black",
                   zorder=2, label=f"{row['model']} ({size:.1f} MB)")
    front = pareto_front(table)
    ax.plot([1000 / r["samples_per_second_batch1"] for r in front], [r["score"] for r in front], "k--o", lw=1,
            markersize=14, markerfacecolor="none", label="Pareto front (nothing faster is as good)", zorder=3)
    timing = table[0]["timing"]
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.set_xlabel(f"milliseconds per sentence at batch 1 (log scale; {timing['threads']} threads, median of "
                  f"{timing['rounds']} interleaved rounds)")
    ax.set_ylabel(f"test {table[0]['metric']} (95% interval)")
    ax.set_title("Teacher, students and exports: quality against latency; marker area by size")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), markerscale=0.5, borderaxespad=0)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
