"""Run folders and their self-describing records: `outputs/<run-id>/results.json` plus the saved model.

A record is written last and atomically, so a folder without `results.json` is a run that did
not finish (its checkpoints can still be resumed). Reports and leaderboards read only records.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .errors import UsageError

RECORD = "results.json"
PREDICTIONS = "test_predictions.tsv"
# Options that change where or how a run is kept, not what it computes.
NOT_HASHED = {"config", "output_dir", "run_name", "resume", "report_to", "keep_checkpoints"}
PACKAGES = ["torch", "transformers", "datasets", "accelerate", "evaluate", "tokenizers", "gensim", "scikit-learn",
            "numpy", "huggingface-hub"]


@dataclass
class RunOptions:
    output_dir: str = field(default="outputs", metadata={"help": "Where run folders are written."})
    run_name: str | None = field(default=None, metadata={"help": "Run folder name (default: recipe-model-data-hash)."})
    resume: bool = field(default=False, metadata={"help": "Continue the latest unfinished run of this config "
                                                          "from its last checkpoint."})


@dataclass
class Run:
    id: str
    dir: Path
    config: dict
    config_hash: str
    started: float


def config_hash(config: dict) -> str:
    kept = {k: v for k, v in sorted(config.items()) if k not in NOT_HASHED}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:8]


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", Path(str(text).rstrip("/")).name).strip("-").lower() or "run"


def start_run(options: RunOptions, recipe: str, *, parts: list[str], config: dict, accelerator: Accelerator) -> Run:
    """Pick the run folder: a new one (never an existing one) or, with --resume, the latest unfinished one."""
    digest = config_hash(config)
    base = run_base(options, recipe, parts, config)
    chosen = [None]
    if accelerator.is_main_process:
        chosen[0] = _choose_folder(Path(options.output_dir), base, options.resume)
    broadcast_object_list(chosen)
    folder = Path(chosen[0])
    accelerator.project_configuration.project_dir = accelerator.project_configuration.logging_dir = str(folder)
    return Run(folder.name, folder, config, digest, time.time())


def run_base(options: RunOptions, recipe: str, parts: list[str], config: dict) -> str:
    return options.run_name or "-".join([recipe, *map(slug, parts), config_hash(config)])


def _runs(root: Path, base: str) -> list[Path]:
    """Folders of one config (base, base-2, base-3...), oldest first."""
    pattern = re.compile(re.escape(base) + r"(-\d+)?$")
    return sorted((p for p in root.glob(base + "*") if pattern.match(p.name)),
                  key=lambda p: int(p.name[len(base) + 1:] or 1) if p.name != base else 1)


def _unfinished(folders: list[Path]) -> list[Path]:
    return [p for p in folders if not (p / RECORD).exists() and (p / "checkpoints").is_dir()]


def has_unfinished(options: RunOptions, recipe: str, parts: list[str], config: dict) -> bool:
    return bool(_unfinished(_runs(Path(options.output_dir), run_base(options, recipe, parts, config))))


def finished_record(options: RunOptions, recipe: str, parts: list[str], config: dict) -> dict | None:
    """The newest finished record of this exact config, if any."""
    done = [p for p in _runs(Path(options.output_dir), run_base(options, recipe, parts, config))
            if (p / RECORD).is_file()]
    return {**json.loads((done[-1] / RECORD).read_text()), "run_dir": str(done[-1])} if done else None


def _choose_folder(root: Path, base: str, resume: bool) -> Path:
    """The unfinished run to resume, or a new folder made here: mkdir fails on a folder that exists,
    so two processes starting the same run at once never share one."""
    if resume:
        unfinished = _unfinished(_runs(root, base))
        if not unfinished:
            raise UsageError(f"--resume: no unfinished run '{base}' with checkpoints under {root}; "
                             "run without --resume to start afresh")
        return unfinished[-1]
    root.mkdir(parents=True, exist_ok=True)
    number = 1
    while True:
        folder = root / (base if number == 1 else f"{base}-{number}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            number += 1


def find_records(root: str | Path = "outputs") -> list[dict]:
    """Every finished run record under `root`, each with its folder as `run_dir`."""
    records = []
    for path in sorted(Path(root).glob(f"*/{RECORD}")):
        record = json.loads(path.read_text())
        record["run_dir"] = str(path.parent)
        records.append(record)
    return records


def environment(accelerator: Accelerator) -> dict:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    versions["python"] = platform.python_version()
    device = {"type": str(accelerator.device), "distributed": str(accelerator.distributed_type),
              "processes": accelerator.num_processes, "mixed_precision": accelerator.mixed_precision,
              "cpu": _cpu_name(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        device["gpu"] = torch.cuda.get_device_name()
    return {"git_commit": _git_commit(), "versions": versions, "device": device}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("-dirty" if dirty else "")) or None


def pretrained_writer(model, tokenizer, record: dict, card: Callable[[dict], ModelCard] | None = None
                      ) -> Callable[[Path], None]:
    """What a model folder holds for transformers-style models: save_pretrained, tokenizer, model card
    (a classifier's unless `card` says otherwise)."""

    def write(folder: Path) -> None:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        (card or model_card)(record).save(folder / "README.md")

    return write


def save_artifacts(run: Run, write: Callable[[Path], None]) -> Path:
    """`write` fills a staging folder, which then becomes run.dir/model in one rename."""
    staging = run.dir / ".model.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    write(staging)
    final = run.dir / "model"
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staging, final)
    return final


def folder_size_mb(folder: str | Path) -> float | None:
    """Size on disk of a saved model folder, in MB (10^6 bytes)."""
    files = [p for p in Path(folder).rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6 if files else None


def write_predictions(run: Run, predictions, label_names: list[str]) -> Path:
    """The test split's predictions in the GLUE submission format: index<TAB>prediction."""
    path = run.dir / PREDICTIONS
    path.write_text("index\tprediction\n" + "".join(f"{i}\t{label_names[p]}\n" for i, p in enumerate(predictions)))
    return path


def write_record(run: Run, record: dict) -> Path:
    """The record, written atomically: readers see the whole file or none."""
    path = run.dir / RECORD
    staging = path.with_suffix(".json.tmp")
    staging.write_text(json.dumps(record, indent=2, default=str) + "\n")
    os.replace(staging, path)
    return path


CARD = """---
{{ card_data }}
---

# {{ model_name }}

A `{{ family }}` sequence classifier ({{ parameters }} parameters) trained by the `{{ recipe }}` recipe
of nlp-road on the data set `{{ dataset }}` (fingerprint `{{ fingerprint }}`).

## Results on the test split

| metric | value |
|---|---|
{% for name, value in metrics %}| {{ name }} | {{ value }} |
{% endfor %}
{% if phenomena %}
### Accuracy per phenomenon

| phenomenon | accuracy |
|---|---|
{% for name, value in phenomena %}| {{ name }} | {{ value }} |
{% endfor %}{% endif %}
## Use

```python
from transformers import pipeline
classifier = pipeline("text-classification", model="{{ path }}")
classifier("the plot was not bad at all .")
```

## Training

Seed {{ seed }}, config hash `{{ config_hash }}`; the full config and environment are in `../results.json`.
"""


def model_card(record: dict) -> ModelCard:
    metrics = record["metrics"]
    data = ModelCardData(
        language="en", library_name="transformers", pipeline_tag="text-classification",
        tags=["nlp-road", record["recipe"]], model_name=record["run_id"],
        eval_results=[EvalResult(task_type="text-classification", dataset_type=record["task"]["name"],
                                 dataset_name=record["task"]["name"], metric_type=name, metric_value=metrics[name])
                      for name in ("accuracy", "f1_macro", "matthews_correlation")])
    low, high = metrics["accuracy_ci95"]
    rows = [("accuracy", f"{metrics['accuracy']:.4f} (95% CI {low:.4f} to {high:.4f})"),
            ("macro F1", f"{metrics['f1_macro']:.4f}"), ("Matthews correlation", f"{metrics['matthews_correlation']:.4f}")]
    return ModelCard.from_template(
        data, template_str=CARD, family=record["model"].get("family"), parameters=f"{record['parameters']:,}",
        recipe=record["recipe"], dataset=record["task"]["name"], fingerprint=record["task"]["fingerprint"],
        metrics=rows, phenomena=[(k, f"{v:.4f}") for k, v in metrics.get("per_phenomenon", {}).items()],
        path=f"{record['run_dir']}/model", seed=record["seed"], config_hash=record["config_hash"])


def build_record(run: Run, task, *, recipe: str, method: str, model_info: dict, metrics: dict, training,
                 accelerator: Accelerator, seed: int, **extra) -> dict:
    """The self-describing record of one finished run; `extra` holds what a recipe adds (e.g. the teacher)."""
    epochs = training.epoch_seconds if training else []
    return {
        "run_id": run.id, "run_dir": str(run.dir), "recipe": recipe, "method": method,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "task": task.describe(), "model": model_info,
        "parameters": model_info["parameters"], "metrics": metrics,
        "validation": {"best_epoch": training.best_epoch, "best": training.best_validation,
                       "history": training.history, "steps": training.steps,
                       "losses": training.losses} if training else None,
        "timings": {"total_seconds": time.time() - run.started, "epoch_seconds": epochs,
                    "seconds_per_epoch": sum(epochs) / len(epochs) if epochs else None},
        "seed": seed, "config": run.config, "config_hash": run.config_hash, **environment(accelerator), **extra,
    }


def finish_run(run: Run, record: dict, *, write: Callable[[Path], None], predictions=None,
               label_names: list[str] | None = None, finish: Callable[[Run, dict, Path], None] | None = None) -> dict:
    """Save the model folder, the test predictions (of classifiers) and, last, the record (main process only).

    `finish(run, record, model_folder)` may add to the record what it measures on the saved model.
    """
    folder = save_artifacts(run, write)
    record["size_mb"] = folder_size_mb(folder)
    if predictions is not None:
        write_predictions(run, predictions, label_names)
    if finish is not None:
        finish(run, record, folder)
    write_record(run, record)
    return record
