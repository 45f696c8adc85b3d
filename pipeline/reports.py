"""Tables people read: results printed by recipes, and (later) leaderboards and parameter reports."""

from __future__ import annotations


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """A Markdown table of `rows`, floats shown to 4 places, missing cells blank."""

    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.4f}"
        if isinstance(value, int):
            return f"{value:,}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def result_rows(record: dict) -> list[dict]:
    """One row per metric of a run record, per-phenomenon accuracy included."""
    metrics = record["metrics"]
    low, high = metrics["accuracy_ci95"]
    rows = [{"metric": "test accuracy", "value": f"{metrics['accuracy']:.4f} [{low:.4f}, {high:.4f}]"},
            {"metric": "macro F1", "value": metrics["f1_macro"]},
            {"metric": "Matthews correlation", "value": metrics["matthews_correlation"]}]
    rows += [{"metric": f"  {name}", "value": value} for name, value in metrics.get("per_phenomenon", {}).items()]
    rows += [{"metric": "parameters", "value": record["parameters"]},
             {"metric": "samples/s (inference)", "value": f"{metrics['speed']['samples_per_second']:.1f}"},
             {"metric": "seconds per epoch", "value": f"{record['timings']['seconds_per_epoch']:.1f}"}]
    return rows
