"""The leaderboard of every run: one table per test set, and a multi-task board across them, built only from records.

    python recipes/leaderboard.py [--runs outputs] [--out outputs/reports] [--predictions DIR]

Runs of one config that differ only by seed become one row: mean +- std of the test accuracy. When the
runs cover two or more test sets, the multi-task board sets them side by side, GLUE-style: one row per
model and method, one column per test set with its main metric, and the average.
"""

import argparse
import json
import shutil
from pathlib import Path

from pipeline.harness.config import run_cli
from pipeline.harness.errors import UsageError
from pipeline.harness.multitask import board_csv, board_html, board_markdown, board_plot, multitask_board
from pipeline.harness.records import find_records
from pipeline.harness.runs import PREDICTIONS
from pipeline.harness.reports import leaderboard, leaderboard_csv, leaderboard_html, leaderboard_markdown, leaderboard_plot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="outputs", help="folder holding run folders with results.json")
    parser.add_argument("--out", default="outputs/reports", help="where leaderboard.{md,csv,json,html,png} go")
    parser.add_argument("--predictions", default=None,
                        help="also copy each run's GLUE-style test predictions (index<TAB>prediction) here")
    args = parser.parse_args()

    records = find_records(args.runs)
    if not records:
        raise UsageError(f"no run records (*/results.json) under '{args.runs}'; run a recipe first")
    tables = leaderboard(records)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "leaderboard.md").write_text(leaderboard_markdown(tables))
    (out / "leaderboard.json").write_text(json.dumps(tables, indent=2) + "\n")
    leaderboard_csv(tables, out / "leaderboard.csv")
    leaderboard_plot(tables, out / "leaderboard.png")
    (out / "leaderboard.html").write_text(leaderboard_html(tables, out / "leaderboard.png"))
    if args.predictions:
        target = Path(args.predictions)
        target.mkdir(parents=True, exist_ok=True)
        for record in records:
            source = Path(record.run_dir) / PREDICTIONS
            if source.is_file():
                shutil.copyfile(source, target / f"{record.run_id}.tsv")
    print(leaderboard_markdown(tables) + f"\nwritten: {out}/leaderboard.{{md,csv,json,html,png}}")
    if len(tables) > 1:
        board = multitask_board(records)
        (out / "multitask.md").write_text(board_markdown(board))
        (out / "multitask.json").write_text(json.dumps(board, indent=2) + "\n")
        board_csv(board, out / "multitask.csv")
        board_plot(board, out / "multitask.png")
        (out / "multitask.html").write_text(board_html(board, out / "multitask.png"))
        print("\n" + board_markdown(board) + f"\nwritten: {out}/multitask.{{md,csv,json,html,png}}")


if __name__ == "__main__":
    run_cli(main)
