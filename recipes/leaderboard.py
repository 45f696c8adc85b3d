"""The leaderboard of every run: one table per test set, the road's lessons checked on it, and a multi-task
board across test sets, built only from records.

    python recipes/leaderboard.py [--runs outputs] [--output_dir outputs/reports] [--predictions DIR]

Runs of one config that differ only by seeds (the run's, a teacher's) become one row: mean +- std of the
test set's main metric (its task type's: accuracy, Jaccard accuracy, Pearson), and n. After the tables come the lessons of the road (pipeline/road.py), each a paired
test on the same test rows, seeds pooled, printed as shown or "not shown here" with its figures, and
road.png, every row in the road's order. When the runs cover two or more test sets, the multi-task board
sets them side by side, GLUE-style: one row per model and method, one column per test set with its main
metric, and the average.
"""

import argparse
import json
import shutil
from pathlib import Path

from pipeline.harness.config import RecipeParser, Renamed, run_cli
from pipeline.harness.errors import UsageError
from pipeline.harness.multitask import board_csv, board_html, board_markdown, board_plot, multitask_board
from pipeline.harness.records import find_records
from pipeline.harness.runs import PREDICTIONS
from pipeline.harness.reports import leaderboard, leaderboard_csv, leaderboard_html, leaderboard_markdown, leaderboard_plot
from pipeline.road import lessons, road_plot


def main() -> None:
    parser = RecipeParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="outputs", help="folder holding run folders with results.json")
    parser.add_argument("--output_dir", default="outputs/reports", help="where leaderboard.{md,csv,json,html,png} go")
    parser.add_argument("--out", dest="output_dir", action=Renamed, new="--output_dir")
    parser.add_argument("--predictions", default=None,
                        help="also copy each run's GLUE-style test predictions (index<TAB>prediction) here")
    args = parser.parse_args()

    records = find_records(args.runs)
    if not records:
        raise UsageError(f"no run records (*/results.json) under '{args.runs}'; run a recipe first")
    tables = leaderboard(records)
    checked = lessons(records)
    shown = "\n".join(f"- {lesson['line']}" for lesson in checked)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "leaderboard.md").write_text(leaderboard_markdown(tables) + (f"\n## What the road shows\n\n{shown}\n"
                                                                          if checked else ""))
    (out / "leaderboard.json").write_text(json.dumps({"tables": tables, "lessons": checked}, indent=2) + "\n")
    leaderboard_csv(tables, out / "leaderboard.csv")
    leaderboard_plot(tables, out / "leaderboard.png")
    road_plot(records, out / "road.png")
    (out / "leaderboard.html").write_text(leaderboard_html(tables, [out / "road.png", out / "leaderboard.png"],
                                                           notes=[lesson["line"] for lesson in checked]))
    if args.predictions:
        target = Path(args.predictions)
        target.mkdir(parents=True, exist_ok=True)
        for record in records:
            source = Path(record.run_dir) / PREDICTIONS
            if source.is_file():
                shutil.copyfile(source, target / f"{record.run_id}.tsv")
    print(leaderboard_markdown(tables))
    if checked:
        print(f"What the road shows (paired tests on the same test rows, seeds pooled):\n{shown}\n")
    print(f"written: {out}/leaderboard.{{md,csv,json,html,png}}, {out}/road.png")
    if len(tables) > 1:
        board = multitask_board(records)
        (out / "multitask.md").write_text(board_markdown(board))
        (out / "multitask.json").write_text(json.dumps(board, indent=2) + "\n")
        board_csv(board, out / "multitask.csv")
        board_plot(board, out / "multitask.png")
        (out / "multitask.html").write_text(board_html(board, [out / "multitask.png"]))
        print("\n" + board_markdown(board) + f"\nwritten: {out}/multitask.{{md,csv,json,html,png}}")


if __name__ == "__main__":
    run_cli(main)
