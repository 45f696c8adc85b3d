"""Recipes of several stages (teacher, then students): each stage is a run of its own.

A stage is identified by its recipe, name parts and config (the same hash that names its folder),
so a stage that already finished is found again, an interrupted one resumes on its own
checkpoints, and anything else starts a new folder.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from accelerate import Accelerator
from accelerate.utils import set_seed

from .records import RunRecord, finished_record
from .errors import UsageError
from .runs import Run, RunOptions, has_unfinished, run_base, run_folders, start_run


@dataclass
class Stage:
    """What identifies a stage's run; `title` is what the progress output calls it."""

    title: str
    recipe: str
    parts: list[str]
    config: dict


def run_stage(stage: Stage, body: Callable[[Run, bool], RunRecord], *, options: RunOptions, accelerator: Accelerator,
              reuse: bool, prepare: Callable[[], None] | None = None, only_stage: bool = False) -> RunRecord:
    """The record of `stage`: a finished run of the same config when `reuse` is on, else body(run, resume).

    `prepare` (building the model, say) runs before the run folder is made, so that a problem it
    finds leaves nothing under outputs/.

    With --resume, the stage's own unfinished run continues from its checkpoints; a stage that has
    none starts afresh, so one `--resume` continues a recipe wherever it stopped; but a recipe's
    `only_stage` with nothing to continue is refused (as the HF Trainer refuses a missing checkpoint),
    naming where it looked.
    """
    accelerator.print(f"\n=== stage: {stage.title}")
    if reuse:
        done = finished_record(options, stage.recipe, stage.parts, stage.config)
        if done is not None:
            accelerator.print(f"reusing the finished run {done.run_dir}")
            return done
    if options.resume and only_stage and not has_unfinished(options, stage.recipe, stage.parts, stage.config):
        base = run_base(options, stage.recipe, stage.parts, stage.config)
        found = [p.name for p in run_folders(Path(options.output_dir), base)]
        raise UsageError(f"--resume: nothing to resume: no unfinished run '{base}' with checkpoints under "
                         f"{options.output_dir}" + (f" (finished: {', '.join(found)})" if found else "")
                         + "; run without --resume to start afresh")
    if prepare is not None:
        set_seed(stage.config["seed"])  # what prepare initialises does not depend on what ran before it
        prepare()
    resume = options.resume and has_unfinished(options, stage.recipe, stage.parts, stage.config)
    run = start_run(replace(options, resume=resume), stage.recipe, parts=stage.parts, config=stage.config,
                    accelerator=accelerator)
    return body(run, resume)
