"""Benchmark: what pretraining on unlabelled text buys BERT, GPT-2 and XLNet when labels are few.

    python recipes/benchmarks/pretraining.py                          # 2,000 labelled rows, seeds 1 2 3
    python recipes/benchmarks/pretraining.py --rows 1000 2000 6000 --seeds 1

For each family at the same tiny size (bert-tiny, gpt2-tiny, xlnet-tiny), the default
`recipes/pretrain.py --objective {mlm,clm,plm}` run is reused from --output_dir (or run first); then
the same fine-tune from scratch and from that pretraining: same labelled rows, seed, settings and
read-out, the one its pretraining informs (OBJECTIVES[...].readout: a masked LM never trains BERT's
[CLS], so BERT reads the mean of its tokens; GPT-2 and XLNet read their last token). BERT is also
run with its own [CLS] read-out: from scratch that is what a user would otherwise do (the honest
baseline), and after pretraining it shows why [CLS] is not the read-out used. Each pretrained
fine-tune is tested against its scratch twin on the same test sentences (exact McNemar), seed by
seed, and against the scratch fine-tune with the family's own read-out. Prints a Markdown table
(accuracy overall and per phenomenon, mean over seeds) and writes a PNG.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from transformers import DataCollatorWithPadding  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from pipeline.harness.data import DataSpec, encode, load_task  # noqa: E402
from pipeline.harness.evaluation import evaluate_test  # noqa: E402
from pipeline.harness.scoring import mcnemar  # noqa: E402
from pipeline.harness.heads import FAMILY  # noqa: E402
from pipeline.harness.models import ModelSpec, load_model  # noqa: E402
from pipeline.harness.training import TrainConfig, task_validation, make_accelerator, train  # noqa: E402
from pipeline.steps.pretraining.objectives import OBJECTIVES  # noqa: E402
from pipeline.steps.pretraining.pretrainer import finished_pretraining  # noqa: E402

FAMILIES = {"mlm": "BERT", "clm": "GPT-2", "plm": "XLNet"}
OWN_READOUT = {"BERT": "[CLS]", "GPT-2": "last token", "XLNet": "last token"}  # heads.FAMILY, by family


def pretrained_run(objective: str, output_dir: str) -> str:
    """The default pretraining's run folder: pretrain.py reuses a finished run of that config, or makes it."""
    args = ["--objective", objective, "--output_dir", output_dir]
    subprocess.run([sys.executable, str(ROOT / "recipes" / "pretrain.py"), *args], cwd=ROOT, check=True)
    return finished_pretraining(args).run_dir


def fine_tune(source: str, pooling: str, *, rows: int, config: TrainConfig) -> tuple[dict, np.ndarray]:
    """Test metrics, and which test sentences it got right."""
    accelerator = make_accelerator(config)
    task = load_task(DataSpec(max_train_samples=rows))
    loaded = load_model(ModelSpec(model=source, pooling=pooling), task.head(), task.splits["train"]["text"])
    encoded = encode(task, loaded.tokenizer, 128)
    collate = DataCollatorWithPadding(loaded.tokenizer)
    with tempfile.TemporaryDirectory() as run_dir:
        train(loaded.model, encoded["train"], encoded["validation"], collate=collate, config=config,
              accelerator=accelerator, run_dir=Path(run_dir), validation=task_validation(task))
    metrics, predictions = evaluate_test(loaded.model, loaded.tokenizer, encoded, task, collate=collate,
                                         accelerator=accelerator, batch_size=64, max_length=128)
    return metrics, predictions == np.asarray(task.splits["test"]["label"])


def plot(results: list[dict], path: Path) -> None:
    """Accuracy from scratch and after pretraining, one pair of bars per family, read-out and labelled rows."""
    fig, axis = plt.subplots(figsize=(max(6.0, 1.4 * len(results) + 2), 4))
    x = np.arange(len(results))
    for offset, init, color in ((-0.2, "scratch", "#bbbbbb"), (0.2, "pretrained", "#3366aa")):
        means = [accuracy(r, init) for r in results]
        spread = [np.std([m["accuracy"] for m in r[init]]) for r in results]
        axis.bar(x + offset, means, 0.4, yerr=spread, color=color, label=f"from {init}" if init == "scratch"
                 else "after pretraining")
    axis.set_xticks(x, [f"{r['family']}\n{r['readout']}\n{r['rows']:,} rows" for r in results], fontsize=8)
    axis.set_ylabel("test accuracy (mean over seeds)")
    axis.set_ylim(0.4, 1.0)
    axis.axhline(0.5, color="black", linewidth=0.5, linestyle=":")
    axis.legend(loc="upper left")
    axis.set_title("What pretraining buys each tiny family (built-in data)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def accuracy(result: dict, init: str) -> float:
    return float(np.mean([m["accuracy"] for m in result[init]]))


def print_table(results: list[dict], args: argparse.Namespace) -> None:
    """Each pretrained fine-tune against its scratch twin (same read-out) and against the scratch fine-tune
    with the family's own read-out (what a user would otherwise run); p per seed, exact McNemar."""
    phenomena = list(results[0]["scratch"][0]["per_phenomenon"])
    print(f"\n{args.epochs} epochs at {args.learning_rate}, seeds {', '.join(map(str, args.seeds))}; accuracy: mean "
          f"over seeds ± spread; p: exact McNemar on the same test sentences, one per seed\n")
    print("| family | read-out | rows | init | accuracy | vs scratch, same read-out (p) | vs scratch, family's own "
          "read-out (p) | " + " | ".join(phenomena) + " |")
    print("|---|---|---|---|---|---|---|" + "---|" * len(phenomena))
    for r in results:
        own = next(o for o in results if o["own"] and (o["family"], o["rows"]) == (r["family"], r["rows"]))
        for init in ("scratch", "pretrained"):
            spread = np.std([m["accuracy"] for m in r[init]])
            versus = ["", ""]
            if init == "pretrained":
                for i, base in enumerate((r, own)):
                    ps = ", ".join(f"{mcnemar(a, b)['p_value']:.1e}"
                                   for a, b in zip(r["right"]["pretrained"], base["right"]["scratch"]))
                    versus[i] = f"**{accuracy(r, init) - accuracy(base, 'scratch'):+.4f}** ({ps})"
            cells = " | ".join(f"{np.mean([m['per_phenomenon'][p] for m in r[init]]):.3f}" for p in phenomena)
            print(f"| {r['family']} ({r['model']}) | {r['readout']} | {r['rows']:,} | {init} | "
                  f"{accuracy(r, init):.4f} ± {spread:.4f} | {versus[0]} | {versus[1]} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[2000], help="labelled training rows")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--objectives", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--learning_rate", type=float, default=2e-4)
    parser.add_argument("--output_dir", default="outputs")
    parser.add_argument("--plot", default="pretraining_benchmark.png")
    args = parser.parse_args()
    results = []
    for objective in args.objectives:
        pretrained, model = pretrained_run(objective, args.output_dir), OBJECTIVES[objective].default_model
        readouts = dict.fromkeys([OBJECTIVES[objective].readout, FAMILY])  # the informed one, the family's own
        for rows in args.rows:
            for readout in readouts:
                shown = OWN_READOUT[FAMILIES[objective]] if readout == FAMILY else f"{readout} of tokens"
                result = {"family": FAMILIES[objective], "model": model, "readout": shown, "own": readout == FAMILY,
                          "rows": rows, "scratch": [], "pretrained": [], "right": {"scratch": [], "pretrained": []}}
                for seed in args.seeds:
                    config = TrainConfig(epochs=args.epochs, learning_rate=args.learning_rate, seed=seed)
                    for init, source in (("scratch", model), ("pretrained", pretrained)):
                        metrics, right = fine_tune(source, readout, rows=rows, config=config)
                        result[init].append(metrics)
                        result["right"][init].append(right)
                    print(f"{FAMILIES[objective]}, {shown}, {rows:,} rows, seed {seed}: scratch "
                          f"{result['scratch'][-1]['accuracy']:.4f}, pretrained {result['pretrained'][-1]['accuracy']:.4f}",
                          flush=True)
                results.append(result)
    print_table(results, args)
    plot(results, Path(args.plot))
    print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
