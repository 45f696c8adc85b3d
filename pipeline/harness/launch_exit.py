"""Under `accelerate launch`, a recipe's usage error ends the launcher the way it ends the recipe.

A recipe prints one line `error: ...` and exits 2 (config.run_cli). accelerate's launcher, which
runs the recipe as a child process, would turn that into a CalledProcessError (torchrun's launcher:
a ChildFailedError) traceback and exit status 1. `nlp_road_launch.pth`, installed with the package,
calls `install()` at interpreter start; in an accelerate launcher process that runs one of this
project's recipes, an uncaught failure whose child exit status is 2 then ends the launcher with
status 2 and no traceback (the recipe already said why). Anything else is left to accelerate.

Every Python process runs the .pth, so this file is installed as the top-level module `nlp_road_launch`
(pyproject.toml) and imports nothing but the standard library: importing it as
`pipeline.harness.launch_exit` would import the package, and with it torch and transformers, in every
process (6 s before `python -c pass` returned).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

USAGE_ERROR = 2


def install() -> None:
    """Hook the launcher's uncaught exceptions; costs nothing in processes that are not launchers."""
    launcher = [Path(arg).name for arg in getattr(sys, "orig_argv", sys.argv)[:3]]
    if any(name.startswith("accelerate") for name in launcher):
        sys.excepthook = _usage_error_exits_quietly(sys.excepthook)


def _usage_error_exits_quietly(default):
    def hook(kind, error, traceback):
        if _runs_a_recipe(sys.argv) and _child_status(error) == USAGE_ERROR:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(USAGE_ERROR)
        default(kind, error, traceback)

    return hook


def _runs_a_recipe(argv: list[str]) -> bool:
    """A script under a `recipes` folder beside this project's `pipeline` package."""
    return any(arg.endswith(".py") and any(folder.name == "recipes" and (folder.parent / "pipeline").is_dir()
                                           for folder in Path(arg).resolve().parents) for arg in argv)


def _child_status(error: BaseException) -> int | None:
    """The failed child's exit status: CalledProcessError's, or that of the first torchrun worker to fail
    (the others may have been stopped by a signal once it had)."""
    if hasattr(error, "returncode"):
        return error.returncode
    if hasattr(error, "get_first_failure"):  # torch.distributed.elastic's ChildFailedError
        return error.get_first_failure()[1].exitcode
    return None
