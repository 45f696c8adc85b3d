"""Run folders: how a run is named, where its files go, and which unfinished run `--resume` continues.

`outputs/<recipe>-<parts>-<config hash>[-N]/` holds `model/` (what the run saved), `checkpoints/`
(while it trains), the test predictions and, written last and atomically, `results.json`: a
folder without it is a run that did not finish, whose checkpoints can still be resumed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list

from .errors import UsageError
from .hub import check_push
from .tasks import TaskType

RECORD = "results.json"
PREDICTIONS = "test_predictions.tsv"
MODEL = "model"
CHECKPOINTS = "checkpoints"
# Options that change where or how a run is kept, not what it computes.
NOT_HASHED = {"config", "output_dir", "run_name", "resume", "report_to", "keep_checkpoints", "push_to_hub",
              "hub_model_id", "hub_private"}


@dataclass
class RunOptions:
    output_dir: str = field(default="outputs", metadata={"help": "Where run folders are written."})
    run_name: str | None = field(default=None, metadata={"help": "Run folder name (default: recipe-model-data-hash)."})
    resume: bool = field(default=False, metadata={"help": "Continue the latest unfinished run of this config "
                                                          "from its last checkpoint."})
    push_to_hub: bool = field(default=False, metadata={
        "help": "Upload the finished run's model folder (weights, tokenizer, card, exports) to the Hugging Face Hub; "
                "the network and a token are checked before anything trains."})
    hub_model_id: str | None = field(default=None, metadata={
        "help": "The model repo to push to, 'name' or 'user/name' (default: the run folder's name)."})
    hub_private: bool = field(default=False, metadata={"help": "Make a repo that --push_to_hub creates private."})

    def __post_init__(self):
        if not self.push_to_hub and (self.hub_model_id or self.hub_private):
            raise UsageError(f"--{'hub_model_id' if self.hub_model_id else 'hub_private'} applies to --push_to_hub; "
                             "add it or leave the option out")
        if self.push_to_hub:
            check_push(self.hub_model_id, private=self.hub_private)


@dataclass
class Run:
    """A run being made: its folder and the config that named it."""

    id: str
    dir: Path
    config: dict
    config_hash: str
    started: float

    @property
    def model_dir(self) -> Path:
        return self.dir / MODEL

    @property
    def checkpoints(self) -> Path:
        return self.dir / CHECKPOINTS


def model_dir(run_dir: str | Path) -> Path:
    """Where a run folder keeps its saved model."""
    return Path(run_dir) / MODEL


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


def run_folders(root: Path, base: str) -> list[Path]:
    """Folders of one config (base, base-2, base-3...), oldest first."""
    pattern = re.compile(re.escape(base) + r"(-\d+)?$")
    return sorted((p for p in root.glob(base + "*") if pattern.match(p.name)),
                  key=lambda p: int(p.name[len(base) + 1:] or 1) if p.name != base else 1)


def _unfinished(folders: list[Path]) -> list[Path]:
    return [p for p in folders if not (p / RECORD).exists() and (p / CHECKPOINTS).is_dir()]


def has_unfinished(options: RunOptions, recipe: str, parts: list[str], config: dict) -> bool:
    return bool(_unfinished(run_folders(Path(options.output_dir), run_base(options, recipe, parts, config))))


def _choose_folder(root: Path, base: str, resume: bool) -> Path:
    """The unfinished run to resume, or a new folder made here: mkdir fails on a folder that exists,
    so two processes starting the same run at once never share one."""
    if resume:
        unfinished = _unfinished(run_folders(root, base))
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


def save_artifacts(run: Run, write: Callable[[Path], None]) -> Path:
    """`write` fills a staging folder, which then becomes run.dir/model in one rename."""
    staging = run.dir / ".model.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    write(staging)
    final = run.model_dir
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staging, final)
    return final


def folder_size_mb(folder: str | Path) -> float | None:
    """Size on disk of a saved model folder, in MB (10^6 bytes)."""
    files = [p for p in Path(folder).rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6 if files else None


def write_predictions(run: Run, predictions, label_names: list[str], kind: TaskType) -> Path:
    """The test split's predictions in the GLUE submission format: index<TAB>prediction (a class name, a
    comma-separated label set, or a number: as the task type writes it)."""
    path = run.dir / PREDICTIONS
    path.write_text("index\tprediction\n" + "".join(f"{i}\t{kind.format(p, label_names)}\n"
                                                    for i, p in enumerate(predictions)))
    return path


def read_predictions(run_dir: str | Path, label_names: list[str], kind: TaskType) -> np.ndarray:
    """A run's test predictions (its GLUE-style file) as the task type decides them, in test order."""
    lines = (Path(run_dir) / PREDICTIONS).read_text().splitlines()[1:]
    return kind.stack([kind.parse(line.split("\t", 1)[1], label_names) for line in lines])


def crashed_copy(run: Path, into: Path, *, after_step: int) -> Path:
    """A copy of a finished run as a crash after `after_step` leaves it: checkpoints up to that step, no
    model, no record (what resume checks start from)."""
    crashed = into / run.name
    shutil.copytree(run, crashed)
    for name in (RECORD, MODEL):
        path = crashed / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for checkpoint in (crashed / CHECKPOINTS).glob("step-*"):
        if int(checkpoint.name.split("-")[1]) > after_step:
            shutil.rmtree(checkpoint)
    return crashed
