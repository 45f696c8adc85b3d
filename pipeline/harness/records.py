"""Run records: one typed, versioned `results.json` per finished run; reports read nothing else.

A record is written last and atomically, so a folder without one is a run that did not finish.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

from accelerate import Accelerator

from .environment import environment
from .tasks import TaskType, task_type
from .runs import RECORD, Run, RunOptions, folder_size_mb, run_base, run_folders, save_artifacts, write_predictions

SCHEMA = 1  # the record layout's version; records written before it had none and read as version 0


@dataclass
class RunRecord:
    """One finished run: what ran (recipe, method, model, config), on what data, how well, how fast, where.

    The file is flat JSON: these fields, plus what a recipe adds (`extra`: a distillation's
    comparison and exports, ELMo's mix, a teacher...) at the top level beside them.
    """

    run_id: str
    run_dir: str
    recipe: str
    method: str
    task: dict  # Task.describe(): name, fingerprints, label names, sizes, source
    model: dict  # name, family, class (its kind, for the predictor), parameters, what the kind adds
    parameters: int
    metrics: dict  # test metrics (accuracy, f1_macro, ... speed); a pretraining's held-out perplexity
    seed: int
    config: dict  # every option of the run; its hash names the folder
    created: str = ""
    validation: dict | None = None  # best epoch, its scores, the history, the training losses
    timings: dict = field(default_factory=dict)
    config_hash: str = ""
    git_commit: str | None = None
    versions: dict = field(default_factory=dict)
    device: dict = field(default_factory=dict)
    size_mb: float | None = None
    extra: dict = field(default_factory=dict)
    schema: int = SCHEMA

    def to_json(self) -> dict:
        data = asdict(self)
        return {**{k: v for k, v in data.items() if k != "extra"}, **data["extra"]}

    @classmethod
    def from_json(cls, data: dict, run_dir: Path) -> RunRecord:
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: v for k, v in data.items() if k in known}
        return cls(**{**values, "run_dir": str(run_dir), "schema": data.get("schema", 0)},
                   extra={k: v for k, v in data.items() if k not in known})


def record_task_type(record: RunRecord) -> TaskType:
    """The task type a record's run had (records written before task types were single-label)."""
    return task_type(record.task.get("task_type"))


def main_metric(record: RunRecord) -> tuple[str, float, list[float] | None]:
    """A record's main test metric (its task type's): name, value and bootstrap interval."""
    name = record_task_type(record).main_metric
    return name, record.metrics[name], record.metrics.get(f"{name}_ci95")


def is_seed(option: str) -> bool:
    """Seeds (the run's own, a teacher's, the data order's) change the draw, not the method: rows merge over them."""
    return option == "seed" or option.endswith("_seed")


def seeds(record: RunRecord) -> tuple:
    """Every seed option of a record's config, e.g. (("seed", 1), ("teacher_seed", 1))."""
    return tuple(sorted((k, v) for k, v in record.config.items() if is_seed(k)))


def method_key(record: RunRecord, *, leave_out: set[str] = frozenset()) -> tuple[str, str, str]:
    """What a board row stands for: recipe, method and every option but the seeds (and `leave_out`)."""
    config = {k: v for k, v in record.config.items() if not is_seed(k) and k not in leave_out}
    return record.recipe, record.method, json.dumps(config, sort_keys=True, default=str)


def read_record(run_dir: str | Path) -> RunRecord:
    """The record of a finished run folder (its `run_dir` is where it is now, wherever it was written)."""
    path = Path(run_dir) / RECORD
    return RunRecord.from_json(json.loads(path.read_text()), path.parent)


def finished_record(options: RunOptions, recipe: str, parts: list[str], config: dict) -> RunRecord | None:
    """The newest finished record of this exact config, if any."""
    done = [p for p in run_folders(Path(options.output_dir), run_base(options, recipe, parts, config))
            if (p / RECORD).is_file()]
    return read_record(done[-1]) if done else None


def find_records(root: str | Path = "outputs") -> list[RunRecord]:
    """Every finished run record under `root`."""
    return [read_record(path.parent) for path in sorted(Path(root).glob(f"*/{RECORD}"))]


def write_record(record: RunRecord) -> Path:
    """The record, written atomically into its run folder: readers see the whole file or none."""
    path = Path(record.run_dir) / RECORD
    staging = path.with_suffix(".json.tmp")
    staging.write_text(json.dumps(record.to_json(), indent=2, default=str) + "\n")
    os.replace(staging, path)
    return path


def build_record(run: Run, task, *, recipe: str, method: str, model_info: dict, metrics: dict, training,
                 accelerator: Accelerator, seed: int, **extra) -> RunRecord:
    """The record of one finished run; `extra` holds what a recipe adds (e.g. the teacher)."""
    epochs = training.epoch_seconds if training else []
    return RunRecord(
        run_id=run.id, run_dir=str(run.dir), recipe=recipe, method=method,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), task=task.describe(), model=model_info,
        parameters=model_info["parameters"], metrics=metrics,
        validation={"best_epoch": training.best_epoch, "best": training.best_validation,
                    "history": training.history, "steps": training.steps,
                    "epochs_run": len(training.history), "stopped": training.stopped,
                    "losses": training.losses} if training else None,
        timings={"total_seconds": time.time() - run.started, "epoch_seconds": epochs,
                 "seconds_per_epoch": sum(epochs) / len(epochs) if epochs else None},
        seed=seed, config=run.config, config_hash=run.config_hash, **environment(accelerator), extra=extra)


def finish_run(run: Run, record: RunRecord, *, write: Callable[[Path], None], predictions=None, task=None,
               finish: Callable[[Run, RunRecord, Path], None] | None = None) -> RunRecord:
    """Save the model folder, the test predictions (of `task`'s models) and, last, the record (main process only).

    `finish(run, record, model_folder)` may add to the record what it measures on the saved model.
    """
    folder = save_artifacts(run, write)
    record.size_mb = folder_size_mb(folder)
    if predictions is not None:
        write_predictions(run, predictions, task.label_names, task.task_type)
    if finish is not None:
        finish(run, record, folder)
    write_record(record)
    return record
