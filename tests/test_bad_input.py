"""Bad input, in-process and again under `accelerate launch`, the documented way to run: one `error:` line,
exit status 2, no traceback from the recipe or the launcher, nothing under outputs/. finetune's cases run
in-process in tests/test_finetune.py (they need its data files)."""

import pytest

from conftest import TINY, assert_usage_error, launch_all
from test_distillation import BAD as DISTILL_BAD, bad_input_files as distill_files
from test_elmo import BAD as ELMO_BAD
from test_finetune import BAD as FINETUNE_BAD, bad_input_files
from test_pretraining import BAD as PRETRAIN_BAD


IN_PROCESS = [("pretrain", args, message) for args, message in PRETRAIN_BAD]
IN_PROCESS += [("elmo", args, message) for args, message in ELMO_BAD]


@pytest.mark.parametrize("recipe,args,message", IN_PROCESS)
def test_bad_input_gets_one_line_exit_2_and_no_output(tmp_path, capsys, monkeypatch, recipe, args, message):
    monkeypatch.chdir(tmp_path)
    assert_usage_error(recipe, args, message, tmp_path / "out", capsys)


# Under the launcher every error leaves the same way (run_cli's one line and status 2, then the launcher ends with
# the child's status), so one case for each recipe and for each stage an error can come from stands for the rest,
# which the recipes' own tests try in-process: the option parser, the option checks, the data, the model, the
# task type, training itself (a diverging loss), --resume, and an option that does not apply.
LAUNCHED = {"finetune": ("unknown option", "must be a finite number", "does not exist", "is not offered", "not IOB2",
                         "training diverged", "nothing to resume"),
            "pretrain": ("does not exist",), "elmo": ("is not a local folder",),
            "distill": ("applies to --student", "holds no text")}


def test_bad_input_under_accelerate_launch(tmp_path):
    paths = {**bad_input_files(tmp_path), **distill_files(tmp_path)}
    cases = [("finetune", [*TINY, *args], message) for args, message in FINETUNE_BAD]
    cases += IN_PROCESS
    cases += [("distill", [*([] if "--teacher" in args else ["--teacher", "bert-tiny"]), *args], message)
              for args, message in DISTILL_BAD]
    cases = [case for case in cases if any(stage in case[2] for stage in LAUNCHED[case[0]])]
    assert len(cases) == sum(map(len, LAUNCHED.values()))  # each stage found once
    outputs = [tmp_path / f"outputs-{i}" for i in range(len(cases))]
    runs = [(recipe, [*(a.format(**paths) for a in args), "--output_dir", str(out)])
            for (recipe, args, _), out in zip(cases, outputs)]
    for (recipe, args, message), out, result in zip(cases, outputs, launch_all(runs, env={"HF_HUB_OFFLINE": "1"})):
        shown = f"{recipe} {args}: {result.stderr[-1500:]}"
        assert result.returncode == 2, shown
        assert "Traceback" not in result.stderr and "CalledProcessError" not in result.stderr, shown
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and message in errors[0], shown
        assert not out.exists(), shown
