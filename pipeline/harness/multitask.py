"""The multi-task board, GLUE-style: one row per model and method, one column per test set, and the average.

A row is one config with its data options set aside (the same recipe, method and settings run on
several data sets); a column is one test set (its evaluation fingerprint), scored by its main metric.
Seeds of a (row, test set) are averaged, and the spread is shown where there is more than one.
"""

from __future__ import annotations

import csv
from dataclasses import fields
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .data import DataSpec  # noqa: E402
from .records import RunRecord, method_key, record_task_type, seeds  # noqa: E402
from .reports import html_page, markdown_table, model_name, test_set  # noqa: E402
from .runs import NOT_HASHED  # noqa: E402

# A test set's score, as GLUE computes it: the mean of these metrics. Matched on the data set's name;
# every other test set is scored by its task type's main metric (accuracy, Jaccard accuracy, Pearson).
GLUE_METRICS = {"mrpc": ("f1", "accuracy"), "qqp": ("f1", "accuracy"), "cola": ("matthews_correlation",),
                "stsb": ("pearson", "spearman")}
SHORT = {"f1": "F1", "accuracy": "acc", "matthews_correlation": "MCC", "pearson": "Pearson", "spearman": "Spearman",
         "jaccard": "Jaccard"}
# What names a row apart from the data and the seeds: the data options, and options that do not change results.
NOT_A_ROW = {f.name for f in fields(DataSpec)} | NOT_HASHED


def task_metrics(record: RunRecord) -> tuple[str, ...]:
    """The metrics a test set's score averages: GLUE's for its tasks, else the task type's main metric."""
    for key, metrics in GLUE_METRICS.items():
        if key in record.task["name"].lower():
            return metrics
    return (record_task_type(record).main_metric,)


def metric_value(record: RunRecord, metric: str) -> float:
    """`f1` is GLUE's: the F1 of the positive class (the second label) of a binary task."""
    if metric == "f1":
        return record.metrics["per_class"][record.task["label_names"][-1]]["f1"]
    return record.metrics[metric]


def multitask_board(records: list[RunRecord]) -> dict:
    """{"tasks": [{name, fingerprint, metrics}], "rows": [...]}, rows ranked by their average over every task."""
    tasks: dict[str, dict] = {}
    groups: dict[tuple, dict] = {}
    for record in records:
        task = test_set(record)
        if task is None:
            continue
        tasks.setdefault(task, {"name": record.task["name"], "fingerprint": task,
                                "metrics": list(task_metrics(record))})
        groups.setdefault(method_key(record, leave_out=NOT_A_ROW), {}).setdefault(task, {}).setdefault(
            seeds(record), record)
    ordered = sorted(tasks.values(), key=lambda t: (t["name"], t["fingerprint"]))
    names = [t["name"] for t in ordered]
    for task in ordered:  # two test sets of one name: told apart by their fingerprints
        task["column"] = task["name"] if names.count(task["name"]) == 1 else f"{task['name']} {task['fingerprint'][:8]}"
    rows = [_row(by_task, tasks) for by_task in groups.values()]
    rows.sort(key=lambda r: (r["average"] is None, -(r["average"] or 0), -len(r["scores"]), r["model"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return {"tasks": ordered, "rows": rows}


def _row(by_task: dict[str, dict[int, RunRecord]], tasks: dict[str, dict]) -> dict:
    everything = [r for runs in by_task.values() for r in runs.values()]
    first = everything[0]
    scores = {}
    for task, runs in by_task.items():
        metrics = {m: [metric_value(r, m) for r in runs.values()] for m in tasks[task]["metrics"]}
        per_seed = np.mean(list(metrics.values()), axis=0)  # the task's score of each seed
        scores[task] = {"score": float(per_seed.mean()),
                        "std": float(per_seed.std(ddof=1)) if len(per_seed) > 1 else None,
                        "metrics": {m: float(np.mean(v)) for m, v in metrics.items()},
                        "seeds": sorted(r.seed for r in runs.values())}
    complete = len(scores) == len(tasks)
    return {"model": model_name(first), "method": first.method, "recipe": first.recipe,
            "parameters": int(np.mean([r.parameters for r in everything])),
            "samples_per_second": float(np.mean([r.metrics["speed"]["samples_per_second"] for r in everything])),
            "scores": scores,
            "average": float(np.mean([s["score"] for s in scores.values()])) if complete else None,
            "runs": sorted(r.run_id for r in everything)}


def _score_cell(score: dict | None) -> str:
    if score is None:
        return ""
    shown = "/".join(f"{v:.4f}" for v in score["metrics"].values())
    n = len(score["seeds"])
    return shown + (f" ± {score['std']:.4f} (n={n})" if n > 1 else "")


def _shown(board: dict) -> tuple[list[dict], list[str]]:
    columns = {t["fingerprint"]: f"{t['column']} ({'/'.join(SHORT.get(m, m) for m in t['metrics'])})"
               for t in board["tasks"]}
    rows = [{"#": row["rank"], "model": row["model"], "method": row["method"],
             **{columns[task]: _score_cell(row["scores"].get(task)) for task in columns},
             "average": f"{row['average']:.4f}" if row["average"] is not None else "",
             "parameters": f"{row['parameters']:,}", "samples/s": f"{row['samples_per_second']:,.0f}"}
            for row in board["rows"]]
    return rows, ["#", "model", "method", *columns.values(), "average", "parameters", "samples/s"]


def board_markdown(board: dict) -> str:
    rows, columns = _shown(board)
    note = ("Each task's score is its main metric (its task type's: accuracy, Jaccard accuracy, Pearson; F1/accuracy "
            "for MRPC and QQP and Pearson/Spearman for STS-B, averaged into the score, as GLUE does), mean over seeds; "
            "the average is over every task, blank where a row misses one.")
    return f"## Multi-task board ({len(board['tasks'])} test sets)\n\n{note}\n\n" + markdown_table(rows, columns) + "\n"


def board_html(board: dict, images: list[Path]) -> str:
    return html_page("nlp-road multi-task board", [("Multi-task board (click a heading to sort)", *_shown(board))],
                     images)


def board_csv(board: dict, path: Path) -> None:
    """Full precision: per task its score, spread, each metric and how many seeds."""
    summary = ["rank", "model", "method", "recipe", "parameters", "samples_per_second", "average"]
    columns = summary + [f"{t['column']}{suffix}" for t in board["tasks"]
                         for suffix in ("", "_std", *(f"_{m}" for m in t["metrics"]), "_seeds")]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        for row in board["rows"]:
            line = {c: row[c] for c in summary}
            for task in board["tasks"]:
                score, name = row["scores"].get(task["fingerprint"]), task["column"]
                if score:
                    line.update({name: score["score"], f"{name}_std": score["std"], f"{name}_seeds": len(score["seeds"]),
                                 **{f"{name}_{m}": v for m, v in score["metrics"].items()}})
            writer.writerow(line)


def board_plot(board: dict, path: Path) -> None:
    """A heat map: models down, test sets and the average across, each cell's score written in it."""
    columns = [t["column"] for t in board["tasks"]] + ["average"]
    values = np.array([[row["scores"][t["fingerprint"]]["score"] if t["fingerprint"] in row["scores"] else np.nan
                        for t in board["tasks"]] + [np.nan if row["average"] is None else row["average"]]
                       for row in board["rows"]], dtype=float).reshape(len(board["rows"]), len(columns))
    figure, axis = plt.subplots(figsize=(1.6 * len(columns) + 4, 0.38 * len(board["rows"]) + 1.6))
    image = axis.imshow(np.ma.masked_invalid(values), cmap="viridis", aspect="auto", vmin=np.nanmin(values, initial=1),
                        vmax=np.nanmax(values, initial=0))
    for (i, j), value in np.ndenumerate(values):
        if not np.isnan(value):
            axis.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=7,
                      color="white" if value < np.nanmean(values) else "black")
    axis.set_xticks(range(len(columns)), columns, fontsize=8)
    axis.set_yticks(range(len(board["rows"])), [f"{r['model']} ({r['method']})" for r in board["rows"]], fontsize=7)
    axis.xaxis.tick_top()
    figure.colorbar(image, ax=axis, label="score (main metric)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
