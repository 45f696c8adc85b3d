"""Benchmark: why MLM pretraining does not help the tiny BERT here, and what the classifier's read-out changes.

    python recipes/benchmarks/pretraining_readout.py                 # 6,000 and 1,000 labelled rows
    python recipes/benchmarks/pretraining_readout.py --rows 1000 --seed 2

BERT's classifier reads one position, [CLS] (through the pooler). bert-tiny pretrained with the
default `recipes/pretrain.py --objective mlm` and fine-tuned that way stays at chance, while the
same model from scratch learns the task. This script fine-tunes bert-tiny from scratch and from
that pretraining, each with BERT's [CLS] head and with a head on the mean of the last layer's
token states (a probe defined here, not a model the project ships), same data, seed and
settings, and tests each pretrained run against its scratch twin on the same test sentences
(exact McNemar). The default MLM pretraining is reused from --output_dir, or run first.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn
from transformers import DataCollatorWithPadding
from transformers.modeling_outputs import SequenceClassifierOutput

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from pipeline.harness.data import DataSpec, encode, load_task  # noqa: E402
from pipeline.harness.evaluation import evaluate_test, mcnemar  # noqa: E402
from pipeline.harness.models import ModelSpec, load_model  # noqa: E402
from pipeline.harness.training import TrainConfig, classification_validation, make_accelerator, train  # noqa: E402
from pipeline.steps.pretraining.pretrainer import finished_pretraining  # noqa: E402

PRETRAIN = ["--objective", "mlm"]


class MeanReadout(nn.Module):
    """The encoder of a BERT classifier with a linear head on its mean token state (padding left out)."""

    def __init__(self, encoder: nn.Module, num_labels: int):
        super().__init__()
        self.encoder, self.config = encoder, encoder.config
        self.head = nn.Sequential(nn.Dropout(encoder.config.hidden_dropout_prob),
                                  nn.Linear(encoder.config.hidden_size, num_labels))

    def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None, **_) -> SequenceClassifierOutput:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        logits = self.head((states * mask).sum(1) / mask.sum(1))
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


def pretrained_run(output_dir: str) -> str:
    """The default MLM pretraining's run folder: pretrain.py reuses a finished run of that config, or makes it."""
    args = [*PRETRAIN, "--output_dir", output_dir]
    subprocess.run([sys.executable, str(ROOT / "recipes" / "pretrain.py"), *args], cwd=ROOT, check=True)
    return finished_pretraining(args).run_dir


def fine_tune(source: str, readout: str, *, rows: int, epochs: int, learning_rate: float, seed: int):
    """Test accuracy, per-phenomenon accuracy and which test sentences it got right."""
    config = TrainConfig(epochs=epochs, learning_rate=learning_rate, seed=seed)
    accelerator = make_accelerator(config)
    task = load_task(DataSpec(max_train_samples=rows))
    loaded = load_model(ModelSpec(model=source), task.label_names, task.splits["train"]["text"])
    model = loaded.model if readout == "[CLS]" else MeanReadout(loaded.model.base_model, len(task.label_names))
    encoded = encode(task, loaded.tokenizer, 128)
    collate = DataCollatorWithPadding(loaded.tokenizer)
    with tempfile.TemporaryDirectory() as run_dir:
        train(model, encoded["train"], encoded["validation"], collate=collate, config=config, accelerator=accelerator,
              run_dir=Path(run_dir), validation=classification_validation(task.label_names))
    metrics, predictions = evaluate_test(model, loaded.tokenizer, encoded["test"], task, collate=collate,
                                         accelerator=accelerator, batch_size=64, max_length=128)
    return metrics, predictions == torch.tensor(task.splits["test"]["label"]).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[6000, 1000], help="labelled training rows")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--learning_rate", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output_dir", default="outputs")
    args = parser.parse_args()
    pretrained = pretrained_run(args.output_dir)
    phenomena = None
    lines = []
    for rows in args.rows:
        for readout in ("[CLS]", "mean of tokens"):
            results = {init: fine_tune(source, readout, rows=rows, epochs=args.epochs,
                                       learning_rate=args.learning_rate, seed=args.seed)
                       for init, source in (("scratch", "bert-tiny"), ("MLM-pretrained", pretrained))}
            test = mcnemar(results["MLM-pretrained"][1], results["scratch"][1])
            phenomena = phenomena or list(results["scratch"][0]["per_phenomenon"])
            for init, (metrics, _) in results.items():
                versus = (f"{metrics['accuracy'] - results['scratch'][0]['accuracy']:+.4f} (p={test['p_value']:.1e})"
                          if init != "scratch" else "")
                lines.append(f"| {rows:,} | {readout} | {init} | {metrics['accuracy']:.4f} | {versus} | "
                             + " | ".join(f"{metrics['per_phenomenon'][p]:.3f}" for p in phenomena) + " |")
            print(lines[-1], flush=True)
    print(f"\nbert-tiny, {args.epochs} epochs at {args.learning_rate}, seed {args.seed}; pretraining: {pretrained}\n")
    print("| rows | read-out | init | accuracy | pretrained vs scratch (McNemar) | " + " | ".join(phenomena) + " |")
    print("|---|---|---|---|---|" + "---|" * len(phenomena))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
