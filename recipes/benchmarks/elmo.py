"""Benchmark: the ELMo step against the road's earlier steps, its mix ablations, MiniLM's layers, SST-2, and
seconds per epoch with the frozen layers cached against computed in every batch.

    python recipes/benchmarks/elmo.py [--seeds 42 43] [--sst2 ../shared/data/sst2]

Built-in data: TF-IDF n-grams, averaged Word2Vec, a BiLSTM over words (the same budget as the ELMo
runs: 15 epochs at 1e-3), then the learned, uniform and top-layer mix over the default biLM, and the
learned mix over frozen MiniLM; exact McNemar tests against TF-IDF and the BiLSTM on the same test
sentences (first seed). Every figure is read back from the run records the recipes write under outputs/.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from pipeline.harness.scoring import mcnemar  # noqa: E402
from pipeline.harness.runs import read_predictions  # noqa: E402
from pipeline.harness.tasks import task_type  # noqa: E402

LAUNCH = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
          "--mixed_precision", "no", "--dynamo_backend", "no"]
SAME_BUDGET = ["--epochs", "15", "--learning_rate", "1e-3"]


def run(recipe: str, args: list[str], *, accelerate: bool = True, env: dict | None = None) -> dict:
    command = [*(LAUNCH if accelerate else [sys.executable]), str(ROOT / "recipes" / f"{recipe}.py"), *args]
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True,
                            env={**os.environ, **(env or {})}).stdout
    run_dir = next(line.split()[0] for line in output.splitlines() if line.startswith("outputs/"))
    return json.loads((ROOT / run_dir / "results.json").read_text())


def correct(record: dict) -> np.ndarray:
    from pipeline.harness.data import DataSpec, load_task

    labels = np.asarray(load_task(DataSpec(dataset=record["config"]["dataset"])).splits["test"]["label"])
    return read_predictions(ROOT / record["run_dir"], record["task"]["label_names"], task_type(record["task"].get("task_type"))) == labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[42])
    parser.add_argument("--sst2", default=str(ROOT.parent / "shared" / "data" / "sst2"))
    args = parser.parse_args()

    configs = {
        "TF-IDF 1-2-grams": ("bow", [], False),
        "Word2Vec (averaged CBOW)": ("word2vec", [], False),
        "BiLSTM over words": ("rnn", SAME_BUDGET, True),
        "ELMo biLM, learned mix": ("elmo", [], True),
        "ELMo biLM, uniform mix": ("elmo", ["--mix", "uniform"], True),
        "ELMo biLM, top layer": ("elmo", ["--mix", "top"], True),
        "frozen MiniLM, learned mix": ("elmo", ["--encoder", "minilm"], True),
    }
    results = {name: [run(recipe, [*extra, "--seed", str(seed)], accelerate=launch) for seed in args.seeds]
               for name, (recipe, extra, launch) in configs.items()}
    phenomena = list(results["TF-IDF 1-2-grams"][0]["metrics"]["per_phenomenon"])
    tfidf, bilstm = correct(results["TF-IDF 1-2-grams"][0]), correct(results["BiLSTM over words"][0])
    print(f"Built-in data, test accuracy (seeds {args.seeds}; p: exact McNemar, first seed)")
    print("| model | accuracy | " + " | ".join(phenomena) + " | p vs TF-IDF | p vs BiLSTM | s/epoch |")
    print("|---|---|" + "---|" * (len(phenomena) + 3))
    for name, records in results.items():
        accuracy = [r["metrics"]["accuracy"] for r in records]
        shown = f"{statistics.mean(accuracy):.4f}" + (f" ± {statistics.stdev(accuracy):.4f}" if len(records) > 1 else "")
        ours = correct(records[0])
        cells = [f"{statistics.mean(r['metrics']['per_phenomenon'][p] for r in records):.3f}" for p in phenomena]
        tests = ["" if name == baseline else f"{mcnemar(ours, other)['p_value']:.1e}"
                 for baseline, other in (("TF-IDF 1-2-grams", tfidf), ("BiLSTM over words", bilstm))]
        epoch = records[0]["timings"].get("seconds_per_epoch")
        print(f"| {name} | {shown} | " + " | ".join(cells) + f" | {tests[0]} | {tests[1]} | "
              + (f"{epoch:.1f}" if epoch else "") + " |")
    for name in ("ELMo biLM, learned mix", "frozen MiniLM, learned mix"):
        mix = results[name][0]["mix"]
        print(f"{name}: s_j " + ", ".join(f"{layer} {w:.3f}" for layer, w in zip(mix["layers"], mix["weights"]))
              + f"; gamma {mix['gamma']:.3f}")

    if Path(args.sst2).exists():
        data = ["--dataset", args.sst2, "--max_train_samples", "4000", "--max_eval_samples", "1000"]
        print("\nSST-2, 4,000 training rows, test accuracy:")
        for name, recipe, extra in (("TF-IDF 1-2-grams", "bow", []), ("ELMo biLM, learned mix", "elmo", []),
                                    ("frozen MiniLM, learned mix", "elmo", ["--encoder", "minilm"])):
            record = run(recipe, [*data, *extra], accelerate=recipe != "bow")
            print(f"  {name}: {record['metrics']['accuracy']:.4f}")

    # Seconds per epoch, the layers read from the cache against the encoder run in every batch: the two
    # alternate, one epoch each, for three rounds; the medians and their ratio. Then the one-time cost of
    # computing the cache (a fresh cache folder).
    timing = {"cached": [], "uncached": []}
    for _ in range(3):
        for kind, extra in (("cached", []), ("uncached", ["--no_cache_features"])):
            timing[kind].append(run("elmo", ["--epochs", "1", *extra])["timings"]["seconds_per_epoch"])
    with tempfile.TemporaryDirectory() as cache:
        fresh = run("elmo", ["--epochs", "1"], env={"NLP_ROAD_CACHE": cache})["feature_cache"]["seconds"]
    cached, uncached = statistics.median(timing["cached"]), statistics.median(timing["uncached"])
    print(f"\nSeconds per epoch (built-in, 6,000 rows, batch 32, {os.cpu_count()} CPUs), median of 3 alternating "
          f"rounds: cached layers {cached:.1f} s, encoder in every batch {uncached:.1f} s ({uncached / cached:.1f}x); "
          f"computing the cache once (train, validation, test): {fresh:.1f} s")


if __name__ == "__main__":
    main()
