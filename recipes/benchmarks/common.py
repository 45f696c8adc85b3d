"""What the benchmark scripts share: running a recipe as a user would and reading its record, and mean ± std."""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START = time.time()


def run(recipe: str, args: list[str], output_dir: str) -> dict:
    """One `python recipes/<recipe>.py` run, or the latest finished run of that recipe under `output_dir` whose
    config holds every option `args` gives (so a benchmark stopped halfway picks up where it was): its record."""
    found = finished(recipe, args, Path(output_dir))
    if found:
        print(f"[{(time.time() - START) / 60:5.1f} min] reusing {found['run_dir']}", flush=True)
        return found
    print(f"[{(time.time() - START) / 60:5.1f} min] $ python recipes/{recipe}.py {' '.join(args)}", flush=True)
    output = subprocess.run([sys.executable, str(ROOT / "recipes" / f"{recipe}.py"), *args, "--output_dir", output_dir],
                            cwd=ROOT, check=True, capture_output=True, text=True).stdout
    run_dir = [line.split()[0] for line in output.splitlines() if line.startswith(output_dir)][-1]  # the run's line
    return json.loads((ROOT / run_dir / "results.json").read_text())


def finished(recipe: str, args: list[str], output_dir: Path) -> dict | None:
    """The latest finished run of `recipe` whose recorded config has each option of `args` ('--name value',
    '--flag', '--name v1 v2') as given."""
    given, name = {}, None
    for arg in args:
        if arg.startswith("--"):
            name = arg[2:]
            given[name] = True
        else:
            given[name] = arg if given[name] is True else [*given[name], arg] if isinstance(given[name], list) \
                else [given[name], arg]
    records = [json.loads(p.read_text()) for p in output_dir.glob("*/results.json")] if output_dir.is_dir() else []

    def same(recorded, wanted) -> bool:
        if wanted is True:
            return recorded is True
        wanted = wanted if isinstance(wanted, list) else [wanted]
        recorded = recorded if isinstance(recorded, list) else [recorded]
        return [str(v) for v in recorded] == wanted or [_number(v) for v in recorded] == [_number(v) for v in wanted]

    # A distillation writes its labels-only twin as a run of the same recipe: it is not the distillation's result.
    matches = [r for r in records if r["recipe"] == recipe and all(same(r["config"].get(k), v) for k, v in given.items())
               and r["config"].get("method") != "hard-labels"]
    return max(matches, key=lambda r: r["created"]) if matches else None


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def spread(values: list[float], digits: int = 4) -> str:
    """Mean ± sample standard deviation (the mean alone for one value)."""
    mean = statistics.mean(values)
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else f"{mean:.{digits}f}"


def student_metrics(record: dict, model: str) -> dict:
    """A distillation comparison row's full test metrics: the distilled run's own, its export's, or those of its
    labels-only twin (the run of the same config with method 'hard-labels')."""
    if model == "student, distilled":
        return record["metrics"]
    if model.startswith("student, distilled, "):
        return record["exports"][model.removeprefix("student, distilled, ")]["metrics"]
    folder = ROOT / record["run_dir"]
    twin = next(p for p in folder.parent.glob("distill-bilstm-hard-labels-*")
                if json.loads((p / "results.json").read_text())["config"] == {**record["config"], "method": "hard-labels"})
    return json.loads((twin / "results.json").read_text())["metrics"]
