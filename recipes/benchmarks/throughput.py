"""Benchmark: the project's training loop against the HF Trainer, its inference against `transformers.pipeline`.

    python recipes/benchmarks/throughput.py                       # built-in data and SST-2, 3 rounds
    python recipes/benchmarks/throughput.py --data builtin --rounds 5

The same model (MiniLM, pretrained), the same training rows, batch 32, `--max_length` 128, one
epoch from the same initial weights, AdamW with the same schedule. Three loops alternate round
after round, the order flipped each round: the project's, the HF Trainer with its defaults, and the
Trainer with its own length grouping (`train_sampling_strategy="group_by_length"`). Training speed
is the epoch's own time (validation and checkpoints excluded on both sides). Inference: the same
sentences, raw text in, logits out, batch 64: the project's `pipeline.evaluation.model_predictor`
(what `recipes/predict.py` and every record's speed figure use) against a plain
`transformers.pipeline("text-classification")`.

MFU (model FLOP utilisation): the model's useful FLOPs (real tokens only, padding is waste) over a
float32 matmul's FLOP/s measured in the same run. Training counts 6 FLOPs per parameter per token
(forward and backward), inference 2, plus attention's score and value products.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from transformers import (DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments,
                          pipeline as hf_pipeline)

from pipeline.harness.data import DataSpec, encode, joined_texts, load_task
from pipeline.harness.evaluation import model_predictor
from pipeline.harness.models import ModelSpec, load_model
from pipeline.harness.training import TrainConfig, task_validation, make_accelerator, train

SETTINGS = {"builtin": "builtin", "sst2": "../shared/data/sst2"}


def matmul_flops(size: int = 2048, repeats: int = 10, *, device: str = "cpu",
                 dtype: torch.dtype = torch.float32) -> float:
    """FLOP/s of a square matmul on this device (float32 on CPU threads, bf16 on a GPU): the peak MFU is
    measured against."""
    a, b = torch.randn(size, size, device=device, dtype=dtype), torch.randn(size, size, device=device, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        _synchronize(device)
        start = time.perf_counter()
        a @ b
        _synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def model_flops(model, lengths: list[int], *, training: bool) -> float:
    """Useful FLOPs for sentences of `lengths` real tokens: 2 per weight per token, attention's products."""
    config = model.config
    weights = sum(p.numel() for name, p in model.named_parameters() if "embeddings" not in name)
    tokens = sum(lengths)
    attention = sum(4 * config.num_hidden_layers * config.hidden_size * n * n for n in lengths)
    forward = 2 * weights * tokens + attention
    return 3 * forward if training else forward


class EpochTimer(TrainerCallback):
    def on_epoch_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_epoch_end(self, args, state, control, **kwargs):
        self.seconds = time.perf_counter() - self.start


def train_project(task, encoded, config: TrainConfig, *, model: str = "minilm") -> float:
    """Seconds of one epoch of the project's loop (on the accelerator's device and config's precision)."""
    loaded = load_model(ModelSpec(model), task.head(), task.splits["train"]["text"])
    accelerator = make_accelerator(config)
    with tempfile.TemporaryDirectory() as folder:
        result = train(loaded.model, encoded["train"], encoded["validation"], collate=DataCollatorWithPadding(
            loaded.tokenizer), config=config, accelerator=accelerator, run_dir=Path(folder),
            validation=task_validation(task))
    return result.epoch_seconds[0]


def train_trainer(task, encoded, config: TrainConfig, sampling: str = "random", *, model: str = "minilm",
                  device: str = "cpu") -> float:
    """Seconds of one epoch of the HF Trainer, same rows, batch, schedule and precision."""
    loaded = load_model(ModelSpec(model), task.head(), task.splits["train"]["text"])
    timer = EpochTimer()
    with tempfile.TemporaryDirectory() as folder:
        args = TrainingArguments(
            output_dir=folder, per_device_train_batch_size=config.batch_size, num_train_epochs=config.epochs,
            learning_rate=config.learning_rate, weight_decay=config.weight_decay, warmup_steps=config.warmup_ratio,
            max_grad_norm=config.max_grad_norm, seed=config.seed, save_strategy="no", eval_strategy="no",
            report_to=[], disable_tqdm=True, use_cpu=device == "cpu", bf16=config.mixed_precision == "bf16",
            logging_steps=10_000, train_sampling_strategy=sampling)
        Trainer(model=loaded.model, args=args, train_dataset=encoded["train"],
                data_collator=DataCollatorWithPadding(loaded.tokenizer), callbacks=[timer]).train()
    return timer.seconds


def infer_project(model, tokenizer, texts: list[str], batch_size: int, *, device: str = "cpu") -> float:
    start = time.perf_counter()
    model_predictor(model, tokenizer, device, 128, batch_size=batch_size)(texts)
    return time.perf_counter() - start


def infer_pipeline(model, tokenizer, texts: list[str], batch_size: int, *, device: str = "cpu") -> float:
    classify = hf_pipeline("text-classification", model=model, tokenizer=tokenizer, device=device)
    start = time.perf_counter()
    classify(texts, batch_size=batch_size, truncation=True, max_length=128)
    return time.perf_counter() - start


def benchmark(data: str, *, samples: int, rounds: int, peak: float) -> None:
    task = load_task(DataSpec(dataset=SETTINGS[data], max_train_samples=samples, max_eval_samples=64))
    config = TrainConfig(epochs=1, batch_size=32, eval_batch_size=64)
    loaded = load_model(ModelSpec("minilm"), task.head())
    encoded = encode(task, loaded.tokenizer, 128)
    lengths = [len(ids) for ids in encoded["train"]["input_ids"]]
    training_flops = model_flops(loaded.model, lengths, training=True)
    loops = {"project": train_project, "trainer": train_trainer,
             "trainer, group_by_length": lambda *a: train_trainer(*a, sampling="group_by_length")}
    timings = {name: [] for name in loops}
    for round_ in range(rounds):
        for name in list(loops)[::1 if round_ % 2 == 0 else -1]:
            seconds = loops[name](task, encoded, config)
            timings[name].append(seconds)
            print(f"  round {round_ + 1}: {name} {len(lengths) / seconds:.1f} samples/s", flush=True)
    _report(f"{data}: training, {len(lengths)} rows, batch {config.batch_size}, {torch.get_num_threads()} threads",
            timings, samples=len(lengths), tokens=sum(lengths), flops=training_flops, peak=peak,
            baseline="trainer")

    texts = joined_texts(task.splits["train"])
    infer_lengths = [len(ids) for ids in loaded.tokenizer(texts, truncation=True, max_length=128)["input_ids"]]
    model = loaded.model.eval()
    loops = {"project": infer_project, "pipeline": infer_pipeline}
    timings = {name: [] for name in loops}
    for round_ in range(rounds):
        for name in list(loops)[::1 if round_ % 2 == 0 else -1]:
            timings[name].append(loops[name](model, loaded.tokenizer, texts, 64))
    _report(f"{data}: inference, {len(texts)} sentences, batch 64", timings, samples=len(texts),
            tokens=sum(infer_lengths), flops=model_flops(model, infer_lengths, training=False), peak=peak,
            baseline="pipeline")


def _report(title: str, timings: dict, *, samples: int, tokens: int, flops: float, peak: float,
            baseline: str) -> None:
    print(f"\n## {title}, median of {len(timings[baseline])} alternating rounds\n")
    print("| loop | samples/s | tokens/s | MFU | vs " + baseline + " |")
    print("|---|---|---|---|---|")
    base = statistics.median(timings[baseline])
    for name, seconds in timings.items():
        median = statistics.median(seconds)
        print(f"| {name} | {samples / median:.1f} | {tokens / median:,.0f} | {flops / median / peak:.3f} "
              f"| {base / median:.2f}x |")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--samples", type=int, default=960, help="Training rows per run.")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    peak = matmul_flops()
    print(f"float32 matmul, 2048 square: {peak / 1e9:.0f} GFLOP/s on {torch.get_num_threads()} threads")
    for data in args.data:
        benchmark(data, samples=args.samples, rounds=args.rounds, peak=peak)


if __name__ == "__main__":
    main()
