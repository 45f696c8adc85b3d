"""Hyperparameter search over any recipe's options, with Optuna.

Each trial is a normal run of the recipe (its own folder and record), with the options the sampler
picked added to the fixed ones, and --no_test: a trial never touches the test rows. The training loop
reports every epoch's validation figure to Optuna (training.epoch_listener), whose median pruner stops a
trial that is behind the others at the same epoch; a pruned run keeps its checkpoints and writes no
record. The chosen options run once more at the end, on the test set (rerun_on_test). The study lives in
Optuna's SQLite storage beside the trials, so an interrupted search continues with --resume (a trial
cut off midway runs again with the same options).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .config import run_script
from .errors import UsageError
from .records import RunRecord, read_record, record_task_type
from .runs import RECORD
from .training import epoch_listener

STUDY = "study.db"
TRIALS = "trials"


@dataclass
class Param:
    """One searched option: a range of numbers (`log`: sampled evenly in log space; `integer`: whole numbers only,
    which a range must ask for: `0:1` is every number between) or a list of choices."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: list | None = None

    def suggest(self, trial):
        if self.choices is not None:
            return trial.suggest_categorical(self.name, self.choices)
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)

    def describe(self) -> str:
        if self.choices is not None:
            return f"{self.name} in {{{', '.join(map(str, self.choices))}}}"
        kinds = [k for k, on in (("log scale", self.log), ("whole numbers", self.integer)) if on]
        return f"{self.name} in [{self.low:g}, {self.high:g}]" + (f" ({', '.join(kinds)})" if kinds else "")


def _value(text) -> int | float | str:
    if not isinstance(text, str):
        return text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_param(text: str) -> Param:
    """'name=low:high' with ':log' and/or ':int' after it, or 'name=a,b,c' (choices)."""
    name, _, rest = text.partition("=")
    name = name.strip().lstrip("-")
    if not name or not rest:
        raise UsageError(f"--param {text!r}: give name=low:high[:log][:int] or name=a,b,c")
    if "," in rest:
        return _checked(Param(name, choices=[_value(v.strip()) for v in rest.split(",") if v.strip()]))
    low, high, *flags = rest.split(":") + ([] if ":" in rest else [None])
    if high is None or not set(flags) <= {"log", "int"}:
        raise UsageError(f"--param {text!r}: a range is low:high, with :log (log scale) and/or :int (whole numbers)")
    return _checked(Param(name, _value(low), _value(high), log="log" in flags, integer="int" in flags))


def read_space(path: Path) -> list[Param]:
    """A YAML space: `name: {low: 1e-4, high: 1e-2, log: true}` (`int: true` for whole numbers) or `name: [a, b, c]`
    per option."""
    if not path.is_file():
        raise UsageError(f"--space '{path}' does not exist")
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise UsageError(f"--space '{path}' is not valid YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(entries, dict):
        raise UsageError(f"--space '{path}' must map each option to a range or a list of choices")
    params = []
    for name, entry in entries.items():
        if isinstance(entry, list):
            params.append(_checked(Param(name, choices=[_value(v) for v in entry])))
        elif isinstance(entry, dict) and {"low", "high"} <= set(entry) <= {"low", "high", "log", "int"}:
            params.append(_checked(Param(name, _value(entry["low"]), _value(entry["high"]),
                                         log=bool(entry.get("log", False)), integer=bool(entry.get("int", False)))))
        else:
            raise UsageError(f"--space '{path}': option '{name}' needs {{low, high[, log][, int]}} or a list of "
                             "choices")
    return params


def _checked(param: Param) -> Param:
    if param.choices is not None:
        if not param.choices:
            raise UsageError(f"searched option '{param.name}' has no choices")
        return param
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (param.low, param.high)):
        raise UsageError(f"searched option '{param.name}': low and high must be finite numbers")
    if not param.low < param.high:
        raise UsageError(f"searched option '{param.name}': low ({param.low}) must be below high ({param.high})")
    if param.integer and not all(float(v).is_integer() for v in (param.low, param.high)):
        raise UsageError(f"searched option '{param.name}': a range of whole numbers needs whole-number bounds")
    if param.log and param.low <= 0:
        raise UsageError(f"searched option '{param.name}': a log-scale range must be positive")
    return param


@dataclass
class Trial:
    """What the study keeps of one trial: its options, state, validation figure, run folder and minutes."""

    number: int
    params: dict
    state: str
    validation: float | None
    run_dir: str | None
    minutes: float | None


def run_trial(recipe: Path, args: list[str], *, report=None) -> RunRecord:
    """One run of `recipe` in this process with `args`; `report(run_dir, epoch, value)`, if given, hears each epoch
    of the recipe's own run (not of the runs it reuses or makes first, such as a distillation's teacher)."""
    before = set(recipe_runs(recipe.stem, _output_dir(args)))
    with epoch_listener(lambda run_dir, epoch, value: report(run_dir, epoch, value)
                        if report and run_dir.name.startswith(recipe.stem + "-") else None):
        run_script(recipe, args)
    made = [run for run in recipe_runs(recipe.stem, _output_dir(args)) if run not in before]
    if not made:
        raise UsageError(f"the trial's run of {recipe.name} wrote no record under {_output_dir(args)}")
    return read_record(made[-1])


def rerun_on_test(recipe: Path, *, fixed: list[str], params: dict, folder: Path) -> RunRecord:
    """The chosen options run once more, on the test set, into `folder`: the only run of the search that reads
    test rows. Found again, not re-run, when it finished before (a search resumed after its end)."""
    done = recipe_runs(recipe.stem, folder)
    if done:
        return read_record(done[-1])
    return run_trial(recipe, [*fixed, *_options(params), "--output_dir", str(folder)])


def _options(params: dict) -> list[str]:
    return [a for k, v in params.items() for a in (f"--{k}", str(v))]


def recipe_runs(recipe: str, output_dir: Path) -> list[Path]:
    """Finished runs of `recipe` under `output_dir`, oldest first."""
    found = [p.parent for p in output_dir.glob(f"{recipe}-*/{RECORD}")] if output_dir.is_dir() else []
    return sorted(found, key=lambda p: (p / RECORD).stat().st_mtime)


def _output_dir(args: list[str]) -> Path:
    return Path(args[len(args) - 1 - args[::-1].index("--output_dir") + 1])


def search(recipe: Path, *, fixed: list[str], space: list[Param], trials: int, folder: Path, resume: bool,
           seed: int = 0, timeout_minutes: float | None = None) -> list[Trial]:
    """Run the study in `folder` until it holds `trials` finished (completed or pruned) trials, or the time is up."""
    import optuna

    storage = f"sqlite:///{folder / STUDY}"
    if (folder / STUDY).exists() and not resume:
        raise UsageError(f"a search already lives in {folder}; add --resume to continue it, or give another "
                         "--study_name")
    if resume and not (folder / STUDY).exists():
        raise UsageError(f"--resume: no search to continue in {folder}; run without --resume to start one")
    folder.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=folder.name, storage=storage, direction="maximize", load_if_exists=resume,
                                sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1))
    names = [p.name for p in space]
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)  # cut off by the interruption: run it again
        print(f"trial {trial.number} was interrupted; it runs again with the same options")
        study.enqueue_trial({k: v for k, v in trial.params.items() if k in names})
    output = folder / TRIALS

    def objective(trial) -> float:
        params = {p.name: p.suggest(trial) for p in space}
        print(f"\n### trial {trial.number}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                         for k, v in params.items()), flush=True)
        start = time.perf_counter()

        def report(run_dir: Path, epoch: int, value: float) -> None:
            trial.set_user_attr("run_dir", str(run_dir))
            trial.report(value, epoch)
            if trial.should_prune():
                print(f"trial {trial.number} pruned after epoch {epoch}: validation {value:.4f} is below the median "
                      "of earlier trials at that epoch", flush=True)
                raise optuna.TrialPruned()

        try:
            record = run_trial(recipe, [*fixed, "--no_test", *_options(params), "--output_dir", str(output)],
                               report=report)
        finally:
            trial.set_user_attr("minutes", (time.perf_counter() - start) / 60)
        trial.set_user_attr("run_dir", str(record.run_dir))
        scores = record.validation["best"] if record.validation else record.metrics  # a linear model: one fit
        return float(scores[record_task_type(record).main_metric])

    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    left = trials - len(study.get_trials(deepcopy=False, states=done))
    if left > 0:
        study.optimize(objective, n_trials=left, timeout=timeout_minutes * 60 if timeout_minutes else None,
                       catch=())
    return [Trial(t.number, t.params, t.state.name.lower(), t.value, t.user_attrs.get("run_dir"),
                  t.user_attrs.get("minutes")) for t in study.get_trials(deepcopy=False)]


def plot_trials(trials: list[Trial], path: Path, *, metric: str) -> None:
    """Each trial's validation figure in the order they ran (a pruned one's at the epoch it was stopped after),
    and the best finished one so far."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    done = [t for t in trials if t.state == "complete"]
    pruned = [t for t in trials if t.state == "pruned" and t.validation is not None]
    figure, axis = plt.subplots(figsize=(7, 4.5))
    axis.plot([t.number for t in done], [t.validation for t in done], "o", label="trial (best validation epoch)")
    if pruned:
        axis.plot([t.number for t in pruned], [t.validation for t in pruned], "x", color="grey",
                  label="pruned (its last epoch)")
    best = np.maximum.accumulate([t.validation for t in done]) if done else []
    axis.step([t.number for t in done], best, where="post", color="tab:orange", label="best so far")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("trial")
    axis.set_ylabel(f"validation {metric}")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
