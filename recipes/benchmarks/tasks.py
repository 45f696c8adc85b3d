"""Benchmark: regression and multi-label through the road, on real data and on the built-in sets.

    python recipes/benchmarks/tasks.py                              # every set, student seeds 1 2
    python recipes/benchmarks/tasks.py --sets stsb --seeds 1

For each set: the honest baseline (recipes/bow.py: TF-IDF 1-2-grams with ridge regression, or one-vs-rest
logistic regressions), then recipes/distill.py: MiniLM fine-tuned as the teacher (once, reused by every
seed), the BiLSTM student on the labels alone and distilled from the teacher's outputs over a transfer
set, with the paired test that fits the metric (a paired bootstrap over test rows of the difference in
Pearson or Jaccard accuracy), and the distilled student's int8 ONNX export.

STS-B: all 4,249 training pairs (425 carved out for validation: the best epoch), scored on test.tsv (the
GLUE dev set, 1,500 pairs); the transfer set is 3 augmented copies of each pair (words masked, n-grams
cut, each sentence on its own). SemEval-2018 E-c: all 6,838 training tweets (684 for validation), the
decision threshold tuned on validation, scored on test.tsv (the E-c dev set, 886 tweets); 2 augmented
copies. Built-in: 1,000 labelled rows; the other 5,000 train rows and 20,000 generated sentences unlabelled;
the multi-label set's teacher is MiniLM mean-pooled, 2e-4, up to 15 epochs (see SETS).
Every figure is read back from the runs' records; a teacher fine-tune finished under --output_dir is reused.
"""

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from pipeline.harness.tasks import TASK_TYPES  # noqa: E402
from recipes.benchmarks.common import ROOT, run, spread, student_metrics  # noqa: E402
SHARED = ROOT.parent / "shared" / "data"
# data: what names the rows (the baseline trains on them too); distill: the distillation's own settings.
SETS = {
    "stsb": {"data": ["--dataset", str(SHARED / "stsb"), "--max_train_samples", "4249"],
             "distill": ["--augment", "mask", "ngram", "--augment_copies", "3", "--teacher_epochs", "4"]},
    "semeval2018_ec": {"data": ["--dataset", str(SHARED / "semeval2018_ec"), "--task_type", "multi_label",
                                "--tune_threshold", "--max_train_samples", "6838"],
                       "distill": ["--augment", "mask", "ngram", "--augment_copies", "2", "--teacher_epochs", "3",
                                   "--max_length", "64"]},
    "builtin-regression": {"data": ["--task_type", "regression", "--max_train_samples", "1000"],
                           "distill": ["--generated", "20000"]},
    # The main job's teacher settings (4 epochs at 1e-4, [CLS] read-out) leave MiniLM at the label prior here: 12
    # sigmoids, 1.6 labels a row. all-MiniLM-L6-v2 was trained as a mean-pooled sentence encoder, and read that
    # way, longer and faster, it learns; the teacher is fine-tuned first (finetune.py) and handed to distill.py.
    "builtin-multi-label": {"data": ["--task_type", "multi_label", "--tune_threshold", "--max_train_samples", "1000"],
                            "teacher": ["--pooling", "mean", "--learning_rate", "2e-4", "--epochs", "15",
                                        "--early_stopping_patience", "3"],
                            "distill": ["--generated", "20000"]},
}
STUDENTS = ["student, labels only", "student, distilled", "student, distilled, onnx-int8"]


def report(name: str, baseline: dict, records: list[dict], seeds: list[int]) -> None:
    kind = baseline["task"]["task_type"]
    metrics = list(TASK_TYPES[kind].metrics)
    tables = [{row["model"]: row for row in record["comparison"]} for record in records]
    teacher_run = ROOT / records[0]["run_dir"]
    teacher_metrics = records[0]["teacher_metrics"]
    sizes = baseline["task"]["sizes"]
    print(f"\n## {name} ({kind}; train {sizes['train']:,}, validation {sizes['validation']:,}, test "
          f"{sizes['test']:,}; student seeds {', '.join(map(str, seeds))}, mean ± std)\n")
    print(f"| model | {' | '.join(metrics)} | 95% CI ({metrics[0]}) | vs labels only (paired bootstrap p, each seed) "
          "| parameters | MB | samples/s b64 |")
    print("|---|" + "---|" * (len(metrics) + 5))

    def line(model: str, rows: list[dict], versus: str = "", size: float | None = None) -> None:
        ci = [statistics.mean(r[f"{metrics[0]}_ci95"][i] for r in rows) for i in (0, 1)]
        print(f"| {model} | " + " | ".join(spread([r[m] for r in rows]) for m in metrics)
              + f" | [{ci[0]:.4f}, {ci[1]:.4f}] | {versus} | {rows[0].get('parameters', '')} | "
              + (f"{size:.1f}" if size else "") + f" | {statistics.mean(r['speed'] for r in rows):,.0f} |")

    base_metrics = {**baseline["metrics"], "parameters": f"{baseline['parameters']:,}",
                    "speed": baseline["metrics"]["speed"]["samples_per_second"]}
    line("TF-IDF 1-2-grams, linear (bow.py)", [base_metrics], size=baseline["size_mb"])
    teacher_row = tables[0]["teacher"]
    line(f"{Path(records[0]['config']['teacher'][0]).name} fine-tuned (teacher)", [{**teacher_metrics, "parameters": f"{teacher_row['parameters']:,}",
                                          "speed": teacher_row["samples_per_second"]}], size=teacher_row["size_mb"])
    for model in STUDENTS:
        rows = [table[model] for table in tables if model in table]
        if not rows:
            continue
        runs = [student_metrics(record, model) for record in records]
        versus = [row["versus_baseline"] for row in rows if "versus_baseline" in row]
        p_values = ", ".join(f"{v['p_value']:.2g}" for v in versus)
        shown = f"{spread([v['difference'] for v in versus])} (p {p_values})" if versus else ""
        line(f"BiLSTM, {model.removeprefix('student, ')}", [{**m, "parameters": f"{rows[0]['parameters']:,}",
                                                             "speed": r["samples_per_second"]}
                                                            for m, r in zip(runs, rows)], shown, rows[0]["size_mb"])
    timing = tables[0]["teacher"]["timing"]
    print(f"\nSpeed: {timing['threads']} threads, median of {timing['rounds']} interleaved rounds at batch "
          f"{timing['batch_size']} (the baseline: its own run, batch 64). Teacher run: {teacher_run.parent.name}/"
          f"{records[0]['teachers'][0]['run_id']}; the decision threshold of a multi-label run is tuned on validation.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--output_dir", default="outputs/benchmark-tasks")
    args = parser.parse_args()
    for name in args.sets:
        if "--dataset" in SETS[name]["data"] and not Path(SETS[name]["data"][1]).exists():
            print(f"{name}: {SETS[name]['data'][1]} is not present; skipped")
            continue
        data = SETS[name]["data"]
        baseline = run("bow", [*data, "--seed", str(args.seeds[0])], args.output_dir)
        given = []  # a teacher with settings of its own is fine-tuned first; distill.py fine-tunes the default one
        if "teacher" in SETS[name]:
            given = ["--teacher", run("finetune", [*data, "--model", "minilm", *SETS[name]["teacher"]],
                                      args.output_dir)["run_dir"]]
        records = [run("distill", [*data, *given, *SETS[name]["distill"], "--seed", str(seed)], args.output_dir)
                   for seed in args.seeds]
        report(name, baseline, records, args.seeds)


if __name__ == "__main__":
    main()
