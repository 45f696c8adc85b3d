"""Benchmark: the default distillation against the best of N searched ones (recipes/search.py), on SST-2.

    python recipes/benchmarks/search.py                     # 8 trials, 4,000 labels
    python recipes/benchmarks/search.py --trials 16

Both sides share the data options (SST-2 from ../shared/data, 4,000 labelled rows, a transfer set of 20,000 of
the other training rows) and one teacher (MiniLM fine-tuned on the 4,000 rows by the default run; the trials
are given its run folder). The default side is distill.py's defaults; the searched side is the trial with the best
validation accuracy over the default space (temperature, alpha_kd, alpha_hard, the student's learning rate and
vocabulary), pruned by Optuna's median pruner, its trials scored on validation only (--no_test) and its
options run once more on the test split. Both sides are scored on the test split once; the paired test is exact
McNemar on the same test sentences. The search's minutes are wall-clock on this machine (threads: the cores).
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from recipes.benchmarks.common import ROOT, run  # noqa: E402

from pipeline.harness.runs import read_predictions  # noqa: E402
from pipeline.harness.scoring import mcnemar  # noqa: E402
from pipeline.harness.tasks import task_type  # noqa: E402

DATA = ["--dataset", str(ROOT.parent / "shared" / "data" / "sst2"), "--max_train_samples", "4000",
        "--max_transfer_rows", "20000"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--output_dir", default="outputs/benchmark-search")
    args = parser.parse_args()
    default = run("distill", [*DATA, "--ablation", "False", "--export", "False"], args.output_dir)
    folder = ROOT / args.output_dir / "search-distill-sst2"
    teacher = ROOT / args.output_dir / default["teachers"][0]["run_id"]  # the same fine-tuned teacher, not again
    command = [sys.executable, str(ROOT / "recipes" / "search.py"), "distill", "--trials", str(args.trials),
               "--study_name", "sst2", "--output_dir", args.output_dir, *DATA, "--teacher", str(teacher)]
    if (folder / "study.db").exists():
        command.append("--resume")
    subprocess.run(command, cwd=ROOT, check=True)
    summary = json.loads((folder / "best.json").read_text())
    best = json.loads((ROOT / summary["best"]["test_run_dir"] / "results.json").read_text())  # its options on test
    names, kind, gold = default["task"]["label_names"], task_type("single_label"), _gold(default)
    a = read_predictions(ROOT / default["run_dir"], names, kind)
    b = read_predictions(ROOT / best["run_dir"], names, kind)
    test = mcnemar(b == gold, a == gold)
    print(f"\n| distillation | validation accuracy | test accuracy | minutes |\n|---|---|---|---|\n"
          f"| defaults | {default['validation']['best']['accuracy']:.4f} | {default['metrics']['accuracy']:.4f} | "
          f"{default['timings']['total_seconds'] / 60:.1f} |\n"
          f"| best of {len(summary['trials'])} trials (trial {summary['best']['trial']}: "
          f"{', '.join(f'{k}={v:.3g}' if isinstance(v, float) else f'{k}={v}' for k, v in summary['best']['params'].items())}) | "
          f"{summary['best']['validation']:.4f} | {best['metrics']['accuracy']:.4f} | {summary['minutes']:.1f} (all trials) |")
    print(f"\nsearched - default on test: {test['difference']:+.4f}, exact McNemar p = {test['p_value']:.3g}; "
          f"trials: {', '.join(t['state'] for t in summary['trials'])}")


def _gold(record: dict):
    from pipeline.harness.data import DataSpec, load_task

    spec = {k: v for k, v in record["task"]["source"].items() if k in DataSpec.__dataclass_fields__}
    task = load_task(DataSpec(**spec))
    return task.task_type.references(task.splits["test"]["label"])


if __name__ == "__main__":
    main()
