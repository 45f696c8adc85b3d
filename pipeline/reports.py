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


def comparison_table(rows: list[dict]) -> str:
    """Teacher against students: accuracy with interval, size, speed, retention, per-phenomenon accuracy."""
    phenomena = list(rows[0].get("per_phenomenon", {}))
    shown = []
    for row in rows:
        low, high = row["ci95"]
        size = row.get("size_mb")
        shown.append({"model": row["model"], "accuracy [95% CI]": f"{row['accuracy']:.4f} [{low:.4f}, {high:.4f}]",
                      "parameters": row["parameters"], "MB": f"{size:.1f}" if size else None,
                      "samples/s": f"{row['samples_per_second']:.1f}", "retention": f"{row['retention']:.3f}",
                      "speed-up": f"{row['speedup']:.2f}x",
                      **{p: row["per_phenomenon"].get(p) for p in phenomena}})
    return markdown_table(shown, list(shown[0]))
