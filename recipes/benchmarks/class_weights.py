"""Benchmark: --class_weights balanced on imbalanced classes, against the same model without it.

    python recipes/benchmarks/class_weights.py                    # bag-of-words, BiLSTM, MiniLM; 3 seeds
    python recipes/benchmarks/class_weights.py --models bow --seeds 1 2 3 4 5

The data: AG News (../shared/data/ag_news, 4 news topics) with one class cut down, in training and test
alike, to --keep of its rows (a seeded sample, the same for every run; the other classes whole), written as
train/test files under --output_dir. Validation is carved from train by the recipes (stratified). Each
model trains with and without `--class_weights balanced` over the same seeds; a finished run of the same
config is reused. The figure is macro F1 (each class's F1 averaged, so the cut class counts as much as the
others); the test is a paired bootstrap over the test rows of the macro-F1 difference, each side the mean
over seeds of that side's runs on the same resampled rows.
"""

import argparse
import csv
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from recipes.benchmarks.common import ROOT, run, spread  # noqa: E402

from pipeline.harness.runs import read_predictions  # noqa: E402
from pipeline.harness.scoring import macro_f1_of, paired_bootstrap  # noqa: E402
from pipeline.harness.tasks import task_type  # noqa: E402

SOURCE = ROOT.parent / "shared" / "data" / "ag_news"
# recipe and options of each model; every run adds the data and its seed.
MODELS = {
    "bow": ("bow", ["--features", "tfidf", "--ngram_max", "2"]),
    "bilstm": ("rnn", ["--epochs", "4", "--learning_rate", "3e-3"]),
    "minilm": ("finetune", ["--model", "minilm", "--epochs", "2", "--learning_rate", "1e-4", "--max_length", "64",
                            "--max_train_samples", "2000"]),
}


def imbalanced_copy(into: Path, *, cut: str, keep: float, seed: int) -> Path:
    """AG News with class `cut` sampled down to `keep` of its rows in train and test (seeded)."""
    folder = into / f"ag_news-{cut.replace('/', '_').lower()}-{keep:g}"
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        with (SOURCE / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
        header, rows = rows[0], rows[1:]
        rare = [r for r in rows if r[1] == cut]
        kept = set(map(tuple, random.Random(seed).sample(rare, round(keep * len(rare)))))
        with (folder / f"{split}.tsv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
            writer.writerows([header] + [r for r in rows if r[1] != cut or tuple(r) in kept])
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--cut", default="Business", help="The class cut down.")
    parser.add_argument("--keep", type=float, default=0.1, help="The share of its rows kept.")
    parser.add_argument("--output_dir", default="outputs/benchmark-class-weights")
    args = parser.parse_args()
    if not SOURCE.is_dir():
        sys.exit(f"error: {SOURCE} is not here (the shared AG News data)")
    data = imbalanced_copy(ROOT / args.output_dir / "data", cut=args.cut, keep=args.keep, seed=0)
    print(f"data: {data} ({args.cut} kept at {args.keep:.0%} of its rows in train and test, seed 0)")
    lines = ["| model | class weights | accuracy | macro F1 | F1 of the cut class | seeds |", "|---|---|---|---|---|---|"]
    tests = []
    for name in args.models:
        recipe, options = MODELS[name]
        sides = {}
        for weights in ("none", "balanced"):
            records = [run(recipe, ["--dataset", str(data), *options, "--seed", str(seed),
                                    *(["--class_weights", "balanced"] if weights == "balanced" else [])],
                           args.output_dir) for seed in args.seeds]
            sides[weights] = records
            lines.append(f"| {name} | {weights} | {spread([r['metrics']['accuracy'] for r in records])} | "
                         f"{spread([r['metrics']['f1_macro'] for r in records])} | "
                         f"{spread([r['metrics']['per_class'][args.cut]['f1'] for r in records])} | {len(records)} |")
        names = sides["none"][0]["task"]["label_names"]
        kind = task_type("single_label")
        references = np.array([names.index(label) for label in _test_labels(data)])
        pooled = {}
        for weights, records in sides.items():
            statistics = [macro_f1_of(read_predictions(ROOT / r["run_dir"], names, kind), references, len(names))
                          for r in records]
            pooled[weights] = lambda index, statistics=statistics: np.mean([s(index) for s in statistics], axis=0)
        result = paired_bootstrap(pooled["balanced"], pooled["none"], len(references))
        tests.append(f"{name}: balanced - none = {result['difference']:+.4f} macro F1 over {len(args.seeds)} seeds, "
                     f"paired bootstrap p = {result['p_value']:.2g} ({len(references):,} test rows)")
    print("\n" + "\n".join(lines) + "\n\n" + "\n".join(tests))


def _test_labels(folder: Path) -> list[str]:
    with (folder / "test.tsv").open(encoding="utf-8", newline="") as handle:
        return [r[1] for r in list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]]


if __name__ == "__main__":
    main()
