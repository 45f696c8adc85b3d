import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pipeline.harness.config import run_cli, run_script
from pipeline.harness.runs import crashed_copy  # noqa: F401  (tests import it from here)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
# A fast fine-tune: tiny model, a few hundred rows.
TINY = ["--model", "bert-tiny", "--epochs", "1", "--max_train_samples", "240", "--max_eval_samples", "80",
        "--learning_rate", "1e-3", "--batch_size", "16"]


def shared(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} is not present")
    return path


def _reset_accelerate() -> None:
    """Recipes run in-process build an Accelerator; its state is a process-wide singleton."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(True)


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    yield
    _reset_accelerate()


def run_recipe(recipe: str, args: list[str], capsys=None) -> int:
    """Run recipes/<recipe>.py in this process as its command line would (run_cli: a usage error is exit 2); the
    exit status (0 when main returns)."""
    try:
        run_cli(lambda: run_script(ROOT / "recipes" / f"{recipe}.py", args))
        return 0
    except SystemExit as exit_:
        return exit_.code or 0


def assert_usage_error(recipe: str, args: list[str], message: str, out: Path, capsys) -> None:
    """The recipe stops on bad input with exit 2, one `error:` line naming `message`, and nothing in `out`."""
    assert run_recipe(recipe, [*args, "--output_dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not out.exists()


def _launch_command(recipe: str, args: list[str], processes: int) -> tuple[list[str], dict]:
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes),
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    if processes > 1:
        command.append("--multi_gpu")
    command += [str(ROOT / "recipes" / f"{recipe}.py"), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1" if processes > 1 else os.environ.get("OMP_NUM_THREADS", "2")}
    return command, env


def launch(recipe: str, args: list[str], processes: int = 1, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a recipe the way users do, through `accelerate launch` (no time limit: a busy machine is slow)."""
    command, environment = _launch_command(recipe, args, processes)
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**environment, **(env or {})})


def launch_all(runs: list[tuple[str, list[str]]], *, parallel: int = 4, env: dict | None = None
               ) -> list[subprocess.CompletedProcess]:
    """Several `accelerate launch` runs, a few at a time (each spends most of its time importing)."""
    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(lambda run: launch(*run, env=env), runs))


def start(recipe: str, args: list[str]) -> subprocess.Popen:
    """Start a recipe under `accelerate launch` in a process group of its own (to be killed as a whole)."""
    command, env = _launch_command(recipe, args, 1)
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)


def assert_served_by_transformers(run: str | Path, texts: list[str], capsys) -> None:
    """transformers' own pipeline loads the run's model folder (the package registers its classes) and gives
    each text the label and probabilities `recipes/predict.py --json` prints."""
    import json

    import pipeline  # noqa: F401  (registration)
    from transformers import pipeline as hf_pipeline

    served = hf_pipeline("text-classification", model=str(Path(run) / "model"), top_k=None)(texts)
    capsys.readouterr()
    assert run_recipe("predict", [str(run), "--json", *texts]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(printed) == len(texts)
    for ours, theirs in zip(printed, served):
        assert theirs[0]["label"] == ours["label"]
        assert {d["label"]: d["score"] for d in theirs} == pytest.approx(ours["probabilities"], abs=1e-5)
