"""Benchmark: distil MiniLM (6 layers) into its 3-layer cut and into a BiLSTM on SST-2, print the figures.

    python recipes/benchmarks/distill_sst2.py [--rows 4000] [--data ../shared/data/sst2]

Runs recipes/distill.py twice through accelerate (the teacher is fine-tuned once, then reused) and
reads every figure back from the run records under outputs/.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def distill(data: str, rows: int, extra: list[str]) -> dict:
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", str(ROOT / "recipes" / "distill.py"),
               "--dataset", data, "--max_train_samples", str(rows), "--max_eval_samples", "2000", *extra]
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    run_dir = [line for line in output.splitlines() if line.startswith("outputs/")][-1]
    print(output[output.index(run_dir):])
    return json.loads((ROOT / run_dir / "results.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=4000, help="training rows of SST-2 (teacher and students)")
    parser.add_argument("--data", default="../shared/data/sst2", help="relative to the project root, as the "
                        "teacher run it reuses was named")
    args = parser.parse_args()

    # Students: lr 1e-4 for 4 epochs, soft targets weighted 0.9 (the labels-only ablation gets the same budget).
    record = distill(args.data, args.rows, ["--learning_rate", "1e-4", "--epochs", "4", "--alpha_kd", "0.9",
                                            "--alpha_hard", "0.1"])
    teacher, student, ablation = record["comparison"]
    bilstm = distill(args.data, args.rows, ["--student", "bilstm", "--learning_rate", "1e-3", "--epochs", "5",
                                            "--vocab_size", "20000", "--no_ablation"])["comparison"][1]
    figures = {
        "training rows": args.rows,
        "teacher (minilm, 6 layers) test accuracy": teacher["accuracy"],
        "student (3 layers, distilled) test accuracy": student["accuracy"],
        "student (3 layers, labels only) test accuracy": ablation["accuracy"],
        "retention (student / teacher)": student["retention"],
        "inference speed-up": student["speedup"],
        "teacher parameters": teacher["parameters"], "student parameters": student["parameters"],
        "distillation epoch time / labels-only epoch time": student["epoch_seconds"] / ablation["epoch_seconds"],
        "BiLSTM student (distilled) test accuracy": bilstm["accuracy"],
        "BiLSTM parameters": bilstm["parameters"], "BiLSTM speed-up": bilstm["speedup"],
    }
    for name, value in figures.items():
        print(f"{name:>52}: {value:.4f}" if isinstance(value, float) else f"{name:>52}: {value:,}")


if __name__ == "__main__":
    main()
