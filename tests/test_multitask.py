"""The multi-task board: rows across test sets, GLUE's main metrics, seeds averaged, and its sortable page."""

import csv
import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from pipeline.harness.multitask import board_html, board_markdown, multitask_board
from pipeline.harness.records import RunRecord


def record(run_id, task, model, seed, accuracy, *, f1=None, method="finetune", epochs=3, parameters=1000):
    """A finished fine-tune's record: `task` names the test set (its fingerprint too)."""
    per_class = {"0": {"f1": 1 - accuracy}, "1": {"f1": accuracy if f1 is None else f1}}
    return RunRecord.from_json({
        "run_id": run_id, "run_dir": f"outputs/{run_id}", "recipe": "finetune", "method": method, "seed": seed,
        "parameters": parameters, "size_mb": 0.1,
        "task": {"name": task, "fingerprint": f"data-{task}", "evaluation_fingerprint": f"test-{task}",
                 "label_names": ["0", "1"]},
        "model": {"name": model},
        "config": {"model": model, "seed": seed, "epochs": epochs, "dataset": f"../data/{task}",
                   "max_train_samples": 1000, "output_dir": f"out-{seed}"},
        "metrics": {"accuracy": accuracy, "f1_macro": 0.5, "matthews_correlation": 0.1,
                    "accuracy_ci95": [accuracy - 0.02, accuracy + 0.02], "per_class": per_class,
                    "speed": {"samples_per_second": 100.0 * seed}}}, f"outputs/{run_id}")


RECORDS = [
    record("m-sst-1", "sst2", "minilm", 1, 0.90), record("m-sst-2", "sst2", "minilm", 2, 0.80),
    record("m-mrpc-1", "mrpc", "minilm", 1, 0.70, f1=0.80),
    record("m-ag-1", "ag_news", "minilm", 1, 0.85),
    record("b-sst-1", "sst2", "bert-tiny", 1, 0.60), record("b-mrpc-1", "mrpc", "bert-tiny", 1, 0.60, f1=0.70),
    record("b-ag-1", "ag_news", "bert-tiny", 1, 0.99),
    record("b6-sst-1", "sst2", "bert-tiny", 1, 0.95, epochs=6),  # another config: a row of its own
]


def test_a_row_is_one_config_across_test_sets_scored_as_glue_does():
    board = multitask_board(RECORDS)
    assert [t["name"] for t in board["tasks"]] == ["ag_news", "mrpc", "sst2"]
    assert [t["metrics"] for t in board["tasks"]] == [["accuracy"], ["f1", "accuracy"], ["accuracy"]]
    rows = {(r["model"], r["rank"]): r for r in board["rows"]}
    assert sorted(rows) == [("bert-tiny", 2), ("bert-tiny", 3), ("minilm", 1)]
    minilm = rows[("minilm", 1)]
    sst2 = minilm["scores"]["test-sst2"]
    assert sst2["score"] == pytest.approx(0.85) and sst2["std"] == pytest.approx(0.0707, abs=1e-4)
    assert sst2["seeds"] == [1, 2]
    mrpc = minilm["scores"]["test-mrpc"]
    assert mrpc["metrics"] == {"f1": pytest.approx(0.80), "accuracy": pytest.approx(0.70)}
    assert mrpc["score"] == pytest.approx(0.75) and mrpc["std"] is None
    assert minilm["average"] == pytest.approx((0.85 + 0.75 + 0.85) / 3)
    assert rows[("bert-tiny", 2)]["average"] == pytest.approx((0.60 + 0.65 + 0.99) / 3)
    partial = rows[("bert-tiny", 3)]  # ran on one test set only: no average, ranked after the complete rows
    assert partial["average"] is None and list(partial["scores"]) == ["test-sst2"]


def test_sts_b_is_scored_as_glue_does_and_other_task_types_by_their_main_metric():
    """A regression test set named STS-B scores the mean of Pearson and Spearman; a multi-label one its Jaccard."""
    def typed(run_id, task, kind, metrics):
        data = record(run_id, task, "minilm", 1, 0.5).to_json()
        data["task"]["task_type"] = kind
        data["metrics"] = {**metrics, "speed": {"samples_per_second": 1.0}}
        return RunRecord.from_json(data, f"outputs/{run_id}")

    board = multitask_board([*RECORDS, typed("m-sts", "stsb", "regression", {"pearson": 0.88, "spearman": 0.86}),
                             typed("m-ec", "semeval2018_ec", "multi_label", {"jaccard": 0.55})])
    tasks = {t["name"]: t["metrics"] for t in board["tasks"]}
    assert tasks["stsb"] == ["pearson", "spearman"] and tasks["semeval2018_ec"] == ["jaccard"]
    minilm = next(r for r in board["rows"] if r["model"] == "minilm")
    assert minilm["scores"]["test-stsb"]["score"] == pytest.approx(0.87)
    assert minilm["scores"]["test-semeval2018_ec"]["score"] == pytest.approx(0.55)
    assert "stsb (Pearson/Spearman)" in board_markdown(board)


def test_the_markdown_shows_metrics_spread_and_blank_cells():
    text = board_markdown(multitask_board(RECORDS))
    assert "| # | model | method | ag_news (acc) | mrpc (F1/acc) | sst2 (acc) | average | parameters | samples/s |" in text
    assert "0.8000/0.7000" in text and "0.8500 ± 0.0707 (n=2)" in text
    assert "| 3 | bert-tiny | finetune |  |  | 0.9500 |  |" in text


def test_the_leaderboard_recipe_writes_the_board_when_runs_span_several_test_sets(tmp_path):
    runs = tmp_path / "runs"
    for rec in RECORDS:
        folder = runs / rec.run_id
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps(rec.to_json()))
    out = tmp_path / "reports"
    result = subprocess.run([sys.executable, str(ROOT / "recipes" / "leaderboard.py"), "--runs", str(runs),
                             "--output_dir", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "## Multi-task board (3 test sets)" in result.stdout
    for suffix in ("md", "csv", "json", "html", "png"):
        assert (out / f"multitask.{suffix}").is_file(), suffix
    lines = list(csv.DictReader((out / "multitask.csv").open()))
    assert [line["model"] for line in lines] == ["minilm", "bert-tiny", "bert-tiny"]
    assert float(lines[0]["mrpc_f1"]) == pytest.approx(0.8) and lines[0]["sst2_seeds"] == "2"
    assert len(json.loads((out / "leaderboard.json").read_text())["tables"]) == 3  # the per-task tables stay
    page = sorted_page(out / "multitask.html", tmp_path, column=None)
    if page is not None:
        assert "Multi-task board" in page and "mrpc (F1/acc)" in page and "data:image/png;base64," in page


def sorted_page(page, tmp_path, *, column: int | None, descending: bool = False) -> str | None:
    """The page's DOM after Chromium ran its script, opened sorted by `column`; None without Chromium."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    url = page.as_uri() + ("" if column is None else f"#sort={column}{'-desc' if descending else ''}")
    result = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", url],
                            capture_output=True, text=True)
    assert "<table>" in result.stdout, result.stderr[-2000:]
    return result.stdout


def ranks(dom: str) -> list[int]:
    """The first cell (the rank) of every body row, in the order the page shows them."""
    body = dom.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [int(row.split("<td>")[1].split("</td>")[0]) for row in body.split("<tr>")[1:]]


def test_the_board_page_sorts_by_any_column_in_chromium(tmp_path):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("Chromium is not installed (Debian package 'chromium'; .ci/run installs it)")
    page = tmp_path / "board.html"
    page.write_text(board_html(multitask_board(RECORDS), []))
    # Columns: # model method ag_news mrpc sst2 average parameters samples/s. Ranks: 1 minilm (every task),
    # 2 bert-tiny (every task), 3 bert-tiny trained longer (sst2 only).
    assert ranks(sorted_page(page, tmp_path, column=None)) == [1, 2, 3]
    ag_news_down = sorted_page(page, tmp_path, column=3, descending=True)
    assert ranks(ag_news_down) == [2, 1, 3]  # 0.99, 0.85, then the blank cell
    assert 'aria-sort="descending"' in ag_news_down
    assert ranks(sorted_page(page, tmp_path, column=5)) == [2, 1, 3]  # sst2 0.60, 0.85 ± 0.07 (n=2), 0.95
    assert ranks(sorted_page(page, tmp_path, column=5, descending=True)) == [3, 1, 2]
    assert ranks(sorted_page(page, tmp_path, column=6)) == [2, 1, 3]  # average 0.75, 0.82, blank last
    assert ranks(sorted_page(page, tmp_path, column=8)) == [2, 3, 1]  # samples/s 100, 100, 125
