"""How big are the models of the road? Parameter counts from real model definitions, never typed in.

    python recipes/params_report.py [--runs outputs] [--output_dir outputs/reports]

Every published model is built on the meta device (accelerate's init_empty_weights) from its config,
from the hub when a network exists, otherwise from its paper's hyperparameters; every run under
outputs/ is added from its record. No weights are allocated: MegatronLM's 8.3B take a second.
"""

import argparse
from pathlib import Path

from pipeline.harness.config import RecipeParser, Renamed, run_cli
from pipeline.harness.records import find_records
from pipeline.harness.reports import markdown_table, size_chart, size_csv
from pipeline.steps.sizes import published_sizes, run_sizes

COLUMNS = ["model", "parameters", "embedding", "non_embedding", "trained", "frozen", "mb_fp32", "mb_fp16", "source"]


def main() -> None:
    parser = RecipeParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="outputs", help="folder of run records to add")
    parser.add_argument("--output_dir", default="outputs/reports", help="where the table, CSV and chart go")
    parser.add_argument("--out", dest="output_dir", action=Renamed, new="--output_dir")
    parser.add_argument("--offline", action="store_true", help="use the published hyperparameters, not the hub")
    args = parser.parse_args()

    rows = published_sizes(use_hub=False if args.offline else None) + run_sizes(find_records(args.runs))
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown_table(rows, COLUMNS)
    (out / "params.md").write_text(table + "\n")
    size_csv(rows, COLUMNS, out / "params.csv")
    size_chart(rows, out / "params.png")
    print(table + f"\n\nwritten: {out / 'params.md'}, {out / 'params.csv'}, {out / 'params.png'}")


if __name__ == "__main__":
    run_cli(main)
