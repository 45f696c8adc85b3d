"""The road as the board shows it: which step each row is, in the road's order, and the lessons it checks.

The leaderboard ranks rows; this module reads the same rows in the order of the course (bags of
words, word vectors, recurrent models, ELMo, transformers from scratch and pretrained, the teacher,
its students) and checks, with a paired test over the same test rows, each lesson the road teaches.
A lesson this data does not show is said so, with its figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .harness.data import DataSpec, load_task  # noqa: E402
from .harness.errors import UsageError  # noqa: E402
from .harness.models import PRESETS  # noqa: E402
from .harness.records import RunRecord, main_metric, method_key, read_record, record_task_type  # noqa: E402
from .harness.reports import model_name, runs_by_test_set  # noqa: E402
from .harness.runs import RECORD, read_predictions  # noqa: E402

P_SHOWN = 0.05  # a lesson is shown when its paired test gives p below this, in the lesson's direction
# Where the data says why a label is what it is (the built-in set), contextual models are compared
# with bags of words on the sentences whose words alone mislead; elsewhere on every test sentence.
HARD_PHENOMENA = ("negation", "contrast")


def _scratch(record: RunRecord) -> bool:
    preset = PRESETS.get(record.config.get("model"))
    return record.recipe == "finetune" and preset is not None and preset.path is None


@dataclass(frozen=True)
class Step:
    """One step of the road: its name on the picture, which runs are it, and whether it reads words in context."""

    name: str
    matches: Callable[[RunRecord], bool]
    contextual: bool = False
    bag_of_words: bool = False


ROAD: list[Step] = [
    Step("bag of words", lambda r: r.recipe == "bow" and r.method == "bow", bag_of_words=True),
    Step("n-grams", lambda r: r.recipe == "bow" and r.method == "ngram" and r.model.get("family") != "fasttext",
         bag_of_words=True),
    Step("fastText", lambda r: r.recipe == "bow" and r.model.get("family") == "fasttext"),
    Step("Word2Vec", lambda r: r.recipe == "word2vec"),
    Step("RNN", lambda r: r.recipe == "rnn", contextual=True),
    Step("ELMo", lambda r: r.recipe == "elmo", contextual=True),
    Step("transformer, from scratch", _scratch),
    Step("transformer, pretrained here", lambda r: r.recipe == "finetune" and "pretraining" in r.model),
    Step("pretrained transformer", lambda r: r.recipe == "finetune", contextual=True),
    Step("student, labels only", lambda r: r.recipe == "distill" and r.method == "hard-labels"),
    Step("student, distilled", lambda r: r.recipe == "distill"),
]
EXPORT = "int8 ONNX"  # the distilled student's export, drawn after it


def step_of(record: RunRecord) -> Step | None:
    return next((step for step in ROAD if step.matches(record)), None)


@dataclass
class Group:
    """A board row's runs: one method, its seeds."""

    name: str
    step: Step | None
    runs: list[RunRecord]

    @property
    def score(self) -> float:
        """The mean over seeds of the task type's main metric."""
        return float(np.mean([main_metric(r)[1] for r in self.runs]))

    @property
    def key(self) -> tuple:
        return method_key(self.runs[0])


def road_groups(records: list[RunRecord]) -> dict[str, tuple[str, list[Group]]]:
    """{test set: (data set name, its rows in the road's order)}; rows of no step go last."""
    out = {}
    for test_set, table in runs_by_test_set(records).items():
        groups = [Group(model_name(next(iter(runs.values()))), step_of(next(iter(runs.values()))),
                        sorted(runs.values(), key=lambda r: r.seed)) for runs in table["groups"].values()]
        position = {id(step): i for i, step in enumerate(ROAD)}
        groups.sort(key=lambda g: (position.get(id(g.step), len(ROAD)), g.name, g.key))
        out[test_set] = (table["dataset"], groups)
    return out


# The lessons. Each compares two rows on the same test sentences, seed with seed, pooled.

def _test_rows(record: RunRecord) -> tuple[np.ndarray, np.ndarray | None]:
    """Gold labels and phenomena of the test split a record was scored on, read again from its data options."""
    source = {k: v for k, v in record.task["source"].items() if k != "dropped_missing_text"}
    task = load_task(DataSpec(**source))
    test = task.splits["test"]
    if task.describe()["evaluation_fingerprint"] != record.task.get("evaluation_fingerprint"):
        raise UsageError(f"the test split of '{record.task['name']}' has changed since the runs were scored")
    phenomena = np.asarray(test["phenomenon"]) if "phenomenon" in test.column_names else None
    return record_task_type(record).references(test["label"]), phenomena


def _predictions(record: RunRecord) -> np.ndarray:
    return read_predictions(record.run_dir, record.task["label_names"], record_task_type(record))


def paired(a: Group, b: Group, labels: np.ndarray, rows: np.ndarray) -> dict:
    """The main metric of a and b on `rows`, seed paired with seed (in order where the seeds differ), and the
    task type's paired test (exact McNemar for accuracy, else a paired bootstrap) on the pooled pairs."""
    kind = record_task_type(a.runs[0])
    by_seed = {r.seed: r for r in b.runs}
    pairs = ([(r, by_seed[r.seed]) for r in a.runs if r.seed in by_seed]
             or list(zip(a.runs, b.runs)))
    a_predictions = np.concatenate([_predictions(x)[rows] for x, _ in pairs])
    b_predictions = np.concatenate([_predictions(y)[rows] for _, y in pairs])
    references = np.concatenate([labels[rows]] * len(pairs))
    everything = np.arange(len(references))[None]
    score_a = float(kind.statistic(a_predictions, references)(everything)[0])
    score_b = float(kind.statistic(b_predictions, references)(everything)[0])
    test = kind.paired_test(a_predictions, b_predictions, references)
    return {"a": a.name, "b": b.name, "metric": kind.metrics[kind.main_metric], "score_a": score_a,
            "score_b": score_b, "difference": score_a - score_b, "test": test["test"], "p_value": test["p_value"],
            "seeds": len(pairs), "rows": int(rows.sum())}


@dataclass
class Comparison:
    """One lesson on one test set: row `a` against row `b`, on the hard sentences or on all of them."""

    lesson: str
    a: Group
    b: Group
    hard_rows: bool = False  # only the sentences whose words alone mislead (HARD_PHENOMENA), where known
    keeps: bool = False  # the student against its teacher: retention, speed and size, not a win

    def check(self, labels: np.ndarray, phenomena: np.ndarray | None) -> dict:
        rows, where = np.ones(len(labels), dtype=bool), ""
        if self.hard_rows:  # data without phenomena (SST-2): every test row, and the line says so
            hard = np.isin(phenomena, HARD_PHENOMENA) if phenomena is not None else np.zeros(len(labels), dtype=bool)
            rows, where = (hard, f" on {' and '.join(HARD_PHENOMENA)}") if hard.any() else (rows, " on every test row")
        figures = paired(self.a, self.b, labels, rows)
        shown = figures["difference"] > 0 and figures["p_value"] < P_SHOWN
        if self.keeps:  # shown when the student keeps 95% of the teacher's score and is smaller and faster
            runs = self.a.runs
            figures["retention"] = figures["score_a"] / figures["score_b"] if figures["score_b"] else 0.0
            figures["speedup"] = float(np.mean([r.extra.get("speedup") or np.nan for r in runs]))
            figures["smaller"] = float(np.mean([r.extra.get("smaller") or np.nan for r in runs]))
            shown = figures["retention"] >= 0.95 and figures["speedup"] > 1 and figures["smaller"] > 1
        line = (f"{'shown' if shown else 'not shown here'}: {self.lesson}{where}: {figures['metric']} {figures['a']} "
                f"{figures['score_a']:.4f} vs {figures['b']} {figures['score_b']:.4f} "
                f"({figures['difference']:+.4f}, {figures['test']} p={figures['p_value']:.2g}; {figures['seeds']} seed(s) x "
                f"{figures['rows']:,} test rows, pooled)")
        if self.keeps:
            line += (f"; retention {figures['retention']:.3f}, {figures['speedup']:.1f}x the teacher's speed at "
                     f"batch 64, {figures['smaller']:.1f}x smaller")
        return {"lesson": self.lesson, "shown": bool(shown), **figures, "line": line}


def lessons(records: list[RunRecord]) -> list[dict]:
    """What the road shows on each test set: every lesson whose two rows were both run, shown or not."""
    out = []
    for test_set, (dataset, groups) in road_groups(records).items():
        comparisons = [*_context(groups), *_pretraining(groups), *_distillation(groups)]
        if not comparisons:
            continue
        try:
            labels, phenomena = _test_rows(groups[0].runs[0])
        except (UsageError, KeyError, OSError) as error:
            out.append({"test_set": test_set, "dataset": dataset, "lesson": "every lesson", "shown": None,
                        "line": f"not checked on {dataset}: its test split could not be read again ({error})"})
            continue
        out += [{"test_set": test_set, "dataset": dataset, **c.check(labels, phenomena)} for c in comparisons]
    return out


def _context(groups: list[Group]) -> list[Comparison]:
    """Each contextual step's best row against the best bag of words, where word order decides."""
    bags = [g for g in groups if g.step and g.step.bag_of_words]
    if not bags:
        return []
    bag = max(bags, key=lambda g: g.score)
    out = []
    for step in (s for s in ROAD if s.contextual):
        rows = [g for g in groups if g.step is step]
        if rows:
            out.append(Comparison(f"reading words in context ({step.name}) beats a bag of words",
                                  max(rows, key=lambda g: g.score), bag, hard_rows=True))
    return out


def _pretraining(groups: list[Group]) -> list[Comparison]:
    """Each model pretrained here against the same model and fine-tune from scratch (its config, model aside)."""
    out = []
    for pretrained in (g for g in groups if "pretraining" in g.runs[0].model):
        record = pretrained.runs[0]
        scratch_model = record.model["pretraining"]["model"]
        twin = next((g for g in groups if g.runs[0].config.get("model") == scratch_model
                     and method_key(g.runs[0], leave_out={"model"}) == method_key(record, leave_out={"model"})), None)
        if twin is not None:
            objective = record.model["pretraining"]["objective"]
            out.append(Comparison(f"pretraining {scratch_model} ({objective}) beats training it from scratch",
                                  pretrained, twin))
    return out


def _distillation(groups: list[Group]) -> list[Comparison]:
    """The distilled student against its labels-only twin, and against its teacher (retention, speed, size)."""
    out = []
    for distilled in (g for g in groups if g.runs[0].recipe == "distill" and g.runs[0].method == "distill"):
        same = method_key(distilled.runs[0], leave_out={"method"})[::2]
        twin = next((g for g in groups if g.runs[0].method == "hard-labels"
                     and method_key(g.runs[0], leave_out={"method"})[::2] == same), None)
        if twin is not None:
            out.append(Comparison("the distilled student beats the same student on the labels alone", distilled,
                                  twin))
        teachers = [_teacher(r) for r in distilled.runs]
        if all(teachers):
            out.append(Comparison("a small student keeps the teacher's score at a fraction of its cost",
                                  distilled, Group(f"{model_name(teachers[0])} (teacher)", None, teachers),
                                  keeps=True))
    return out


def _teacher(record: RunRecord) -> RunRecord | None:
    """The fine-tuned teacher a distilled run learned from, when its run folder sits beside it."""
    run_id = (record.extra.get("teachers") or [{}])[0].get("run_id")
    folder = Path(record.run_dir).parent / str(run_id)
    return read_record(folder) if run_id and (folder / RECORD).is_file() else None


def road_plot(records: list[RunRecord], path: Path) -> None:
    """The main metric (with the mean 95% interval) of every row in the road's order, marker size by MB; with
    the metric per phenomenon below where the data has phenomena. One column of panels per test set."""
    boards = [(dataset, _points(groups)) for dataset, groups in road_groups(records).values()]
    with_phenomena = any(point["per_phenomenon"] for _, points in boards for point in points)
    panels = 2 if with_phenomena else 1
    widths = [max(6.0, 0.5 * (len(points) + 2)) for _, points in boards]
    label_inches = 0.075 * max(len(point["label"]) for _, points in boards for point in points)
    figure, axes = plt.subplots(panels, len(boards), figsize=(sum(widths), 4.5 + 3 * (panels - 1) + label_inches),
                                squeeze=False, sharex="col", layout="constrained",
                                gridspec_kw={"width_ratios": widths, "height_ratios": [3, 2][:panels]})
    metrics = [points[0]["metric"] for _, points in boards]
    for column, (dataset, points) in enumerate(boards):
        axis = axes[0][column]
        x = np.arange(len(points))
        for i, point in enumerate(points):
            low, high = point["ci95"]
            axis.errorbar(i, point["score"], yerr=[[point["score"] - low], [high - point["score"]]],
                          fmt="none", ecolor="grey", capsize=3)
            size = 20 + 60 * np.log10(1 + (point["size_mb"] or 0.1))
            axis.scatter(i, point["score"], s=size, color=f"C{point['colour'] % 10}", zorder=3)
            axis.annotate(f"{point['score']:.3f}", (i, high), textcoords="offset points", xytext=(0, 4),
                          ha="center", fontsize=6)
        axis.set_ylabel(f"test {metrics[column]} (95% interval)")
        axis.set_title(f"{dataset}: the road, in order (marker area: MB on disk)", fontsize=9)
        axis.grid(alpha=0.3)
        bottom = axes[panels - 1][column]
        phenomena = list(dict.fromkeys(p for point in points for p in point["per_phenomenon"]))
        if panels == 2 and not phenomena:  # another test set has phenomena, this one (real data) has none
            bottom.text(0.5, 0.5, "no phenomena in this data", ha="center", va="center", transform=bottom.transAxes)
            bottom.set_yticks([])
        elif panels == 2:
            grid = np.array([[point["per_phenomenon"].get(p, np.nan) for point in points] for p in phenomena])
            image = bottom.imshow(grid, aspect="auto", cmap="RdYlGn", vmin=0, vmax=1)
            for (row, col), value in np.ndenumerate(grid):
                if not np.isnan(value):
                    bottom.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=6)
            bottom.set_yticks(range(len(phenomena)), phenomena, fontsize=7)
            bottom.set_title(f"{metrics[column]} per phenomenon", fontsize=9)
            figure.colorbar(image, ax=bottom, fraction=0.02)
        bottom.set_xticks(x, [p["label"] for p in points], rotation=60, ha="right", fontsize=7)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _short(name: str) -> str:
    """A row's name short enough for an axis: "gpt2-tiny (clm-pretrained on builtin)" -> "gpt2-tiny +clm"."""
    return re.sub(r" \((\w+)-pretrained on [^)]*\)", r" +\1", name)


def _points(groups: list[Group]) -> list[dict]:
    """What road.png draws for each row, and the distilled student's int8 export after it."""
    points = []
    for group in groups:
        runs = group.runs
        step = group.step.name if group.step else "other"
        colour = ROAD.index(group.step) if group.step else len(ROAD)
        phenomena = {p: float(np.mean([r.metrics["per_phenomenon"][p] for r in runs]))
                     for p in runs[0].metrics.get("per_phenomenon", {})}
        kind = record_task_type(runs[0])
        points.append({"label": f"{step}: {_short(group.name)}", "score": group.score, "colour": colour,
                       "metric": kind.metrics[kind.main_metric],
                       "ci95": [float(np.mean([main_metric(r)[2][i] for r in runs])) for i in (0, 1)],
                       "size_mb": runs[0].size_mb, "per_phenomenon": phenomena})
        exports = [r.extra.get("exports", {}).get("onnx-int8") for r in runs]
        if runs[0].method == "distill" and all(exports):
            score = float(np.mean([e[kind.main_metric] for e in exports]))
            points.append({"label": f"{EXPORT}: {_short(group.name)}", "score": score, "colour": colour,
                           "metric": kind.metrics[kind.main_metric], "ci95": [score, score],
                           "size_mb": exports[0]["size_mb"], "per_phenomenon": {}})
    return points
