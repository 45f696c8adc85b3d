"""What people read: result tables printed by recipes, the leaderboard and the parameter report (md, csv, html, png)."""

from __future__ import annotations

import base64
import csv
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .records import RunRecord, main_metric, method_key, record_task_type, seeds  # noqa: E402


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """A Markdown table of `rows`, floats shown to 4 places, missing cells blank."""

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def result_rows(record: RunRecord) -> list[dict]:
    """One row per metric of a run record (its task type's, the main one with its interval), per phenomenon too."""
    metrics, kind = record.metrics, record_task_type(record)
    name, value, (low, high) = main_metric(record)
    scored = "validation (--no_test)" if record.task["source"].get("no_test") else "test"
    rows = [{"metric": f"{scored} {kind.metrics[name]}", "value": f"{value:.4f} [{low:.4f}, {high:.4f}]"}]
    if "trivial" in record.extra:  # what a model that never read the text scores (evaluation.versus_trivial)
        guess = record.extra["trivial"]
        low, high = guess["test"]["ci95"]
        rows.append({"metric": f"  trivial guess: {guess['guess']}",
                     "value": f"{guess['test']['score']:.4f} [{low:.4f}, {high:.4f}]"})
    rows += [{"metric": title, "value": metrics[other]} for other, title in list(kind.metrics.items())[1:]]
    if "threshold" in metrics:
        rows.append({"metric": "decision threshold", "value": metrics["threshold"]})
    rows += [{"metric": f"  {name}", "value": value} for name, value in metrics.get("per_phenomenon", {}).items()]
    rows += [{"metric": "parameters", "value": record.parameters},
             {"metric": "samples/s (inference)", "value": f"{metrics['speed']['samples_per_second']:.1f}"},
             {"metric": "seconds per epoch", "value": f"{record.timings['seconds_per_epoch']:.1f}"}]
    return rows


def comparison_table(rows: list[dict], *, trivial: dict | None = None) -> str:
    """Teacher against students, the columns read first: the main metric with interval and paired test, retention,
    size, speed (per phenomenon and raw throughput stay in the record); last, what the trivial guess scores
    (`trivial`: evaluation.versus_trivial), the floor every row must clear."""
    metric = rows[0].get("metric", "accuracy")
    test = next((row["versus_baseline"]["test"] for row in rows if "test" in row.get("versus_baseline", {})),
                "exact McNemar")
    shown = []
    for row in rows:
        low, high = row["ci95"]
        size, versus = row.get("size_mb"), row.get("versus_baseline")
        shown.append({
            "model": row["model"], f"{metric} [95% CI]": f"{row['score']:.4f} [{low:.4f}, {high:.4f}]",
            f"vs labels only ({test} p)": f"{versus['difference']:+.4f} (p={versus['p_value']:.2g})" if versus else "",
            "retention": f"{row['retention']:.3f}" if row["retention"] is not None else "",
            "parameters": f"{row['parameters']:,}", "MB": f"{size:.1f}" if size else "",
            "smaller": f"{row['smaller']:.1f}x" if row.get("smaller") else "",
            "speed-up b64": f"{row['speedup']:.2f}x",
            "ms/sentence b1": f"{1000 / row['samples_per_second_batch1']:.2f}",
            "speed-up b1": f"{row['speedup_batch1']:.2f}x"})
    if trivial:
        low, high = trivial["test"]["ci95"]
        shown.append({"model": f"trivial guess: {trivial['guess']}",
                      f"{metric} [95% CI]": f"{trivial['test']['score']:.4f} [{low:.4f}, {high:.4f}]"})
    return markdown_table(shown, list(shown[0]))


def test_set(record: RunRecord) -> str | None:
    """The fingerprint of the test set a record was scored on (None for a pretraining, which has none)."""
    if record_task_type(record).main_metric not in record.metrics:
        return None
    return record.task.get("evaluation_fingerprint") or record.task["fingerprint"]  # older records: the data's


def runs_by_test_set(records: list[RunRecord]) -> dict[str, dict]:
    """{test set: {"dataset", "groups": {method_key: {seeds: record}}, "duplicates"}}: runs of one method
    (config but seeds) on one test set together; a (config, seeds) recorded twice counts once."""
    tables: dict[str, dict] = {}
    for record in records:
        key = test_set(record)
        if key is None:
            continue
        table = tables.setdefault(key, {"dataset": record.task["name"], "groups": {}, "duplicates": 0})
        group = table["groups"].setdefault(method_key(record), {})
        if seeds(record) in group:
            table["duplicates"] += 1
            continue
        group[seeds(record)] = record
    return tables


IMBALANCED = 1.5  # a test set whose largest class has this many times the rows of its smallest is imbalanced


def imbalanced(record: RunRecord) -> bool:
    """Whether a record's test classes are imbalanced, so that accuracy alone flatters a majority-class guess
    and the leaderboard shows macro F1 beside it."""
    supports = [c.get("support") for c in record.metrics.get("per_class", {}).values()]
    if "f1_macro" not in record.metrics or not supports or None in supports:
        return False
    return max(supports) >= IMBALANCED * max(min(supports), 1)


def leaderboard(records: list[RunRecord]) -> list[dict]:
    """One table per test set (its texts, labels and label names), whatever data each run trained on, ranked by
    its task type's main metric (accuracy, Jaccard accuracy, Pearson).

    Rows are runs of one config averaged over its seeds (the run's, a teacher's: `records.is_seed`);
    how many rows a run trained on is a column. The table says how many duplicate runs it dropped, and
    whether its classes are imbalanced (then macro F1 is shown too).
    """
    out = []
    for key, table in runs_by_test_set(records).items():
        rows = [_row(list(group.values())) for group in table["groups"].values()]
        guessed = next((r for group in table["groups"].values() for r in group.values() if "trivial" in r.extra), None)
        if guessed is not None:
            rows.append(_trivial_row(guessed))
        rows = sorted(rows, key=lambda r: -r["score"])
        for rank, row in enumerate(rows, 1):
            row["rank"] = rank
        first = next(iter(next(iter(table["groups"].values())).values()))
        out.append({"dataset": table["dataset"], "fingerprint": key, "metric": rows[0]["metric"], "rows": rows,
                    "duplicates_dropped": table["duplicates"], "imbalanced": imbalanced(first)})
    return sorted(out, key=lambda t: t["dataset"])


def model_name(record: RunRecord) -> str:
    """A row's model as people know it: a distilled student names its teacher, a fine-tune its pretraining,
    and a classifier read-out other than its family's own (heads.READOUTS) and class weights are named."""
    suffix = f", {record.model['pooling']}-pooled" if "pooling" in record.model else ""
    if "class_weights" in record.task:  # --class_weights: the same model trained another way is another row
        suffix += f", classes weighted ({record.task['class_weights']['rule']})"
    if "pretraining" in record.model:
        pretraining = record.model["pretraining"]
        return f"{pretraining['model']} ({pretraining['objective']}-pretrained on {pretraining['corpus']}){suffix}"
    model = record.model.get("name", "?")
    if record.method == "distill":
        return f"{model} (from {record.config.get('teacher', ['?'])[0]}){suffix}"
    return model + suffix


def _row(group: list[RunRecord]) -> dict:
    first = group[0]
    metric = record_task_type(first).metrics[main_metric(first)[0]]
    scores = np.array([main_metric(r)[1] for r in group])
    phenomena = {p: float(np.mean([r.metrics["per_phenomenon"][p] for r in group]))
                 for p in first.metrics.get("per_phenomenon", {})}
    retention = [r.extra["retention"] for r in group if r.extra.get("retention") is not None]
    return {
        "model": model_name(first), "method": first.method, "recipe": first.recipe, "parameters": first.parameters, "size_mb": first.size_mb,
        "training_rows": first.task.get("sizes", {}).get("train"), "data_version": first.task["fingerprint"][:8],
        "metric": metric, "score": float(scores.mean()),
        "score_std": float(scores.std(ddof=1)) if len(group) > 1 else None, "seeds": sorted(r.seed for r in group),
        "ci95": [float(np.mean([main_metric(r)[2][i] for r in group])) for i in (0, 1)],
        "f1_macro": (float(np.mean([r.metrics["f1_macro"] for r in group]))
                     if all("f1_macro" in r.metrics for r in group) else None),
        "per_phenomenon": phenomena,
        "samples_per_second": float(np.mean([r.metrics["speed"]["samples_per_second"] for r in group])),
        "retention": float(np.mean(retention)) if retention else None,
        "runs": [r.run_id for r in group],
    }


def _trivial_row(record: RunRecord) -> dict:
    """The trivial guess of a test set (evaluation.versus_trivial, from the training labels of `record`'s run): the
    floor every row of the table must clear."""
    guess = record.extra["trivial"]
    return {"model": f"trivial guess: {guess['guess']}", "method": "trivial", "recipe": None, "parameters": 0,
            "size_mb": None, "training_rows": record.task.get("sizes", {}).get("train"), "data_version": "",
            "metric": record_task_type(record).metrics[guess["metric"]], "score": guess["test"]["score"],
            "score_std": None, "seeds": [], "ci95": guess["test"]["ci95"], "f1_macro": None, "per_phenomenon": {},
            "samples_per_second": None, "retention": None, "runs": [record.run_id]}


def _shown_rows(table: dict) -> tuple[list[dict], list[str]]:
    """A table's rows as people read them: rounded, seeds as mean ± std (n) only where n > 1."""
    phenomena = list(dict.fromkeys(p for row in table["rows"] for p in row["per_phenomenon"]))
    rows = []
    for row in table["rows"]:
        n = len(row["seeds"])
        score = f"{row['score']:.4f} ± {row['score_std']:.4f} (n={n})" if n > 1 else f"{row['score']:.4f}"
        rows.append({"#": row["rank"], "model": row["model"], "method": row["method"],
                     "training rows": f"{row['training_rows']:,}" if row.get("training_rows") else "",
                     "data version": row.get("data_version", ""), "parameters": f"{row['parameters']:,}",
                     "MB": f"{row['size_mb']:.1f}" if row["size_mb"] else "", row["metric"]: score,
                     "95% CI": f"[{row['ci95'][0]:.4f}, {row['ci95'][1]:.4f}]",
                     **({"macro F1": f"{row['f1_macro']:.4f}" if row.get("f1_macro") is not None else ""}
                        if table.get("imbalanced") else {}),
                     **{p: f"{row['per_phenomenon'][p]:.4f}" if p in row["per_phenomenon"] else ""
                        for p in phenomena},
                     "samples/s": f"{row['samples_per_second']:.0f}" if row["samples_per_second"] else "",
                     "retention": f"{row['retention']:.3f}" if row["retention"] is not None else ""})
    return rows, (list(rows[0]) if rows else [])


def _heading(table: dict) -> str:
    dropped = table.get("duplicates_dropped")
    note = f"; {dropped} duplicate run(s) of a config and seed dropped" if dropped else ""
    return f"{table['dataset']} (test set fingerprint `{table['fingerprint']}`{note})"


def leaderboard_markdown(tables: list[dict]) -> str:
    parts = []
    for table in tables:
        rows, columns = _shown_rows(table)
        parts.append(f"## {_heading(table)}\n\n" + markdown_table(rows, columns))
    return "\n\n".join(parts) + "\n"


def leaderboard_csv(tables: list[dict], path: Path) -> None:
    phenomena = sorted({p for t in tables for r in t["rows"] for p in r["per_phenomenon"]})
    columns = ["dataset", "fingerprint", "rank", "model", "method", "training_rows", "data_version", "parameters",
               "size_mb", "metric", "score", "score_std", "n_seeds", "ci95_low", "ci95_high", "f1_macro",
               "samples_per_second", "retention", *phenomena]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        for table in tables:
            for row in table["rows"]:
                writer.writerow({"dataset": table["dataset"], "fingerprint": table["fingerprint"],
                                 **{c: row.get(c) for c in columns if c in row}, "n_seeds": len(row["seeds"]),
                                 "ci95_low": row["ci95"][0], "ci95_high": row["ci95"][1], **row["per_phenomenon"]})


def leaderboard_plot(tables: list[dict], path: Path) -> None:
    """The main metric against parameters (log axis), one panel per data set."""
    figure, axes = plt.subplots(1, len(tables), figsize=(6 * len(tables), 4.5), squeeze=False)
    for axis, table in zip(axes[0], tables):
        for row in table["rows"]:
            if not row["parameters"]:  # the trivial guess has no parameters to place it on the log axis
                axis.axhline(row["score"], color="grey", linestyle=":", label=row["model"])
                continue
            axis.errorbar(row["parameters"], row["score"], yerr=row["score_std"] or 0.0, fmt="o", capsize=3)
            axis.annotate(f"{row['model']} ({row['method']})", (row["parameters"], row["score"]),
                          textcoords="offset points", xytext=(5, 4), fontsize=7)
        axis.set_xscale("log")
        axis.set_xlabel("parameters (log scale)")
        axis.set_ylabel(f"test {table['metric']}")
        axis.set_title(f"{table['dataset']} ({table['fingerprint'][:8]})")
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def html_page(title: str, markdown_tables: list[tuple[str, list[dict], list[str]]], images: list[Path], *,
              notes: list[str] = ()) -> str:
    """A self-contained page: inline style, notes (one paragraph each), tables, and the plots embedded as data URIs."""
    body = [f"<h1>{html.escape(title)}</h1>", *(f"<p>{html.escape(note)}</p>" for note in notes)]
    for heading, rows, columns in markdown_tables:
        body.append(f"<h2>{html.escape(heading)}</h2><table><thead><tr>"
                    + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr></thead><tbody>")
        for row in rows:
            body.append("<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in columns) + "</tr>")
        body.append("</tbody></table>")
    for image in images:
        if image.is_file():
            data = base64.b64encode(image.read_bytes()).decode()
            body.append(f'<img alt="{html.escape(image.stem)}" src="data:image/png;base64,{data}">')
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
             "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#eee;cursor:pointer}"
             "th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}"
             "td:nth-child(2),td:nth-child(3){text-align:left}img{max-width:100%}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(body)}<script>{SORTING}</script></body></html>\n")


# Click a column's heading to sort every row by it (again: the other way); `page.html#sort=4-desc` opens
# the page sorted by column 4 (counted from 0), descending. A cell sorts by the first number it shows;
# blank cells go last either way.
SORTING = """
function sortTable(table, column, descending) {
  const body = table.tBodies[0];
  const key = row => {
    const text = row.cells[column].textContent.replace(/,/g, '').trim();
    const number = parseFloat(text);
    return text === '' ? null : isNaN(number) ? text.toLowerCase() : number;
  };
  const rows = Array.from(body.rows).map(row => [key(row), row]);
  rows.sort(([a], [b]) => {
    if (a === null || b === null) return (a === null) - (b === null);
    if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1;
    return (a < b ? -1 : a > b ? 1 : 0) * (descending ? -1 : 1);
  });
  rows.forEach(([, row]) => body.appendChild(row));
  table.querySelectorAll('th').forEach((th, i) =>
    th.setAttribute('aria-sort', i === column ? (descending ? 'descending' : 'ascending') : 'none'));
}
document.querySelectorAll('table').forEach(table => table.querySelectorAll('th').forEach((th, column) =>
  th.addEventListener('click', () => sortTable(table, column, th.getAttribute('aria-sort') === 'ascending'))));
const asked = location.hash.match(/^#sort=(\\d+)(-desc)?$/);
if (asked) document.querySelectorAll('table').forEach(table => sortTable(table, Number(asked[1]), !!asked[2]));
"""


def leaderboard_html(tables: list[dict], images: list[Path], *, notes: list[str] = ()) -> str:
    return html_page("nlp-road leaderboard", [(_heading(t).replace("`", ""), *_shown_rows(t)) for t in tables], images,
                     notes=notes)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def size_csv(rows: list[dict], columns: list[str], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def size_chart(rows: list[dict], path: Path) -> None:
    """The course deck's bar chart of model sizes, on a log axis so that GPT-2 XL and MegatronLM fit too."""
    rows = sorted(rows, key=lambda r: r["parameters"])
    figure, axis = plt.subplots(figsize=(9, 0.35 * len(rows) + 1.5))
    colours = ["tab:orange" if r["source"].startswith("run") else "tab:blue" for r in rows]
    axis.barh([r["model"] for r in rows], [r["parameters"] for r in rows], color=colours)
    for y, row in enumerate(rows):
        axis.text(row["parameters"] * 1.1, y, f"{row['parameters'] / 1e6:,.1f}M", va="center", fontsize=7)
    axis.set_xscale("log")
    axis.set_xlabel("parameters (log scale); blue: published architectures, orange: runs in outputs/")
    axis.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def loss_curve_plot(record: RunRecord, path: Path) -> None:
    """Training loss per optimizer step (and its running mean) with the held-out loss after each epoch."""
    validation = record.validation
    losses = np.asarray(validation["losses"], dtype=float)
    figure, axis = plt.subplots(figsize=(7, 4.5))
    steps = np.arange(1, len(losses) + 1)
    axis.plot(steps, losses, color="tab:blue", alpha=0.25, linewidth=0.8, label="training loss (each step)")
    window = max(1, len(losses) // 50)
    if len(losses) >= window:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        axis.plot(steps[window - 1:], smooth, color="tab:blue", label=f"training loss (mean of {window} steps)")
    history = validation["history"]
    axis.plot([h["step"] for h in history], [h["loss"] for h in history], "o-", color="tab:orange",
              label="held-out loss")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("cross-entropy per predicted token")
    axis.set_title(f"{record.method} pretraining of {record.model['name']} on {record.task['name']}")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def mix_weights_plot(record: RunRecord, path: Path) -> None:
    """The ELMo step's learned layer weights s_j (times gamma in the title): which layers the task reads."""
    mix = record.extra["mix"]
    figure, axis = plt.subplots(figsize=(1.2 * len(mix["layers"]) + 3, 4))
    bars = axis.bar(mix["layers"], mix["weights"], color="tab:green")
    axis.bar_label(bars, labels=[f"{w:.2f}" for w in mix["weights"]], fontsize=8)
    axis.set_ylim(0, 1.1)
    axis.set_ylabel("layer weight s_j (softmax)")
    axis.set_title(f"{record.model['name']} on {record.task['name']}: {mix['mode']} mix, "
                   f"gamma = {mix['gamma']:.2f}", fontsize=9)
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
