"""Benchmark: what distillation buys, over several seeds, on the built-in data and on SST-2.

    python recipes/benchmarks/distill.py                       # the BiLSTM student on both, seeds 1 2 3
    python recipes/benchmarks/distill.py --data builtin --seeds 1 2 3
    python recipes/benchmarks/distill.py --data builtin-distil sst2-distil   # the 3-layer transformer student
    python recipes/benchmarks/distill.py --data builtin-narrow sst2-narrow agnews-narrow   # 2 layers, narrowed

Each seed is one `accelerate launch recipes/distill.py --seed N` with the recipe's defaults (a BiLSTM
student): the teacher (seeded apart) is fine-tuned once and reused, its soft targets are cached.
Built-in: 1,000 labelled rows, the other 5,000 train rows and 5,000 generated sentences unlabelled.
SST-2: 4,000 labelled rows, the other 56,614 train phrases unlabelled, scored on test.tsv (the GLUE
dev set). AG News: 4,000 labelled rows, the rest of the 10,001 unlabelled, 2,000 of the test rows.
Every figure is read back from the distilled student's run record.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from recipes.benchmarks.common import spread  # noqa: E402
SST2 = ["--dataset", "../shared/data/sst2", "--max_train_samples", "4000", "--max_eval_samples", "2000"]
AG_NEWS = ["--dataset", "../shared/data/ag_news", "--max_train_samples", "4000", "--max_eval_samples", "2000"]
# The transformer student: MiniLM's every other layer, its vocabulary pruned to the task's text (the default).
DISTIL = ["--student", "distil", "--learning_rate", "5e-5", "--epochs", "3", "--no_teacher_init"]
# The narrow student: two of MiniLM's layers, their feed-forward blocks cut from 1536 to 384 neurons.
NARROW = ["--student", "distil", "--layer_map", "0,3", "--ffn_dim", "384", "--learning_rate", "2e-4", "--epochs", "6",
          "--no_teacher_init"]
SETTINGS = {"builtin": [], "sst2": SST2, "builtin-distil": DISTIL, "sst2-distil": [*SST2, *DISTIL],
            "builtin-narrow": NARROW, "sst2-narrow": [*SST2, *NARROW], "agnews-narrow": [*AG_NEWS, *NARROW]}
ROWS = ["teacher", "student, labels only", "student, distilled", "student, distilled, onnx-int8"]


def distill(args: list[str], output_dir: str) -> dict:
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", str(ROOT / "recipes" / "distill.py"), *args,
               "--output_dir", output_dir]
    print("$ accelerate launch recipes/distill.py " + " ".join(args), flush=True)
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    run_dir = [line for line in output.splitlines() if line.startswith(output_dir)][-1].split()[0]
    print(output[output.index(run_dir):], flush=True)
    return json.loads((ROOT / run_dir / "results.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", choices=list(SETTINGS), default=["builtin", "sst2"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--output_dir", default="outputs/benchmark-distill")
    args = parser.parse_args()

    for data in args.data:
        records = [distill([*SETTINGS[data], "--seed", str(seed)], args.output_dir) for seed in args.seeds]
        tables = [{row["model"]: row for row in record["comparison"]} for record in records]
        print(f"\n## {data}: {len(records)} seeds ({', '.join(map(str, args.seeds))}), mean ± std\n")
        print("| model | accuracy | vs labels only | McNemar p (each seed) | retention | MB | smaller "
              "| speed-up b64 | speed-up b1 |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name in ROWS:
            rows = [table[name] for table in tables if name in table]
            versus = [row["versus_baseline"] for row in rows if "versus_baseline" in row]
            p_values = ", ".join(f"{v['p_value']:.1g}" for v in versus)
            print(f"| {name} | {spread([r['score'] for r in rows])} "
                  f"| {spread([v['difference'] for v in versus]) if versus else ''} | {p_values} "
                  f"| {spread([r['retention'] for r in rows], 3)} | {rows[0]['size_mb']:.1f} "
                  f"| {spread([r['smaller'] for r in rows], 1)}x | {spread([r['speedup'] for r in rows], 2)}x "
                  f"| {spread([r['speedup_batch1'] for r in rows], 2)}x |")
        changes = [record["exports"]["onnx-int8"]["change"] for record in records]
        timing = records[0]["comparison"][0]["timing"]
        print(f"\nint8 export, accuracy change against the distilled student: {spread(changes)}. Speed: "
              f"{timing['threads']} threads, median of {timing['rounds']} interleaved rounds at batch "
              f"{timing['batch_size']} and at batch 1.")


if __name__ == "__main__":
    main()
