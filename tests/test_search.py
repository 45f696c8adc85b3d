"""recipes/search.py: Optuna trials that are normal runs, chosen on validation, fed epoch by epoch from the training
loop, and a study that continues where it was interrupted."""

import json
from pathlib import Path

import optuna
import pytest

from conftest import assert_usage_error, run_recipe
from pipeline.harness.runs import CHECKPOINTS, RECORD
from pipeline.harness.training import epoch_listener

FAST = ["--features", "fasttext", "--epochs", "2", "--max_train_samples", "200", "--max_eval_samples", "100"]
SPACE = ["--param", "learning_rate=0.01:0.5:log"]


def test_the_training_loop_reports_each_epoch_and_a_pruned_run_keeps_only_checkpoints(tmp_path):
    heard = []

    def listener(run_dir, epoch, value):
        heard.append((run_dir.name, epoch, value))
        raise optuna.TrialPruned()

    with epoch_listener(listener), pytest.raises(optuna.TrialPruned):
        run_recipe("bow", [*FAST, "--learning_rate", "0.05", "--output_dir", str(tmp_path)])
    (name, epoch, value), = heard
    assert name.startswith("bow-fasttext") and epoch == 1 and 0 <= value <= 1
    run = tmp_path / name
    assert (run / CHECKPOINTS).is_dir() and not (run / RECORD).exists()  # resumable, never a finished run


def test_a_search_chooses_on_validation_and_an_interrupted_study_continues(tmp_path, capsys):
    out = tmp_path / "out"
    assert run_recipe("search", ["bow", "--trials", "2", *SPACE, *FAST, "--output_dir", str(out)]) == 0
    printed = capsys.readouterr().out  # each trial's result says what it was scored on; the last run, test
    assert printed.count("| validation (--no_test) accuracy |") == 2 and printed.count("| test accuracy |") == 1
    folder = out / "search-bow-study"
    first = json.loads((folder / "best.json").read_text())
    assert [t["state"] for t in first["trials"]] == ["complete", "complete"]
    for trial in first["trials"]:  # each trial is a normal run with its record, scored on validation only
        record = json.loads((Path(trial["run_dir"]) / RECORD).read_text())
        assert trial["validation"] == record["validation"]["best"]["accuracy"]
        assert record["config"]["learning_rate"] == pytest.approx(trial["params"]["learning_rate"])
        assert record["task"]["source"]["no_test"] is True  # its "test" figure is the validation one
        assert record["metrics"]["accuracy"] == pytest.approx(trial["validation"])
    best = max(first["trials"], key=lambda t: t["validation"])
    assert first["best"]["trial"] == best["number"] and (folder / "trials.png").is_file()
    # The chosen options run once more on the test set: the same model (same validation), the test rows now used.
    final = json.loads((Path(first["best"]["test_run_dir"]) / RECORD).read_text())
    assert final["task"]["source"]["no_test"] is False and final["task"]["fingerprint"] != record["task"]["fingerprint"]
    assert final["validation"]["best"]["accuracy"] == pytest.approx(best["validation"])
    assert first["best"]["test"] == final["metrics"]["accuracy"]

    # A process killed mid-trial leaves it running in the study: --resume runs it again, then the rest.
    study = optuna.load_study(study_name=folder.name, storage=f"sqlite:///{folder / 'study.db'}")
    cut = study.ask({"learning_rate": optuna.distributions.FloatDistribution(0.01, 0.5, log=True)})
    assert run_recipe("search", ["bow", "--trials", "3", *SPACE, *FAST, "--output_dir", str(out)]) == 2
    assert "add --resume" in capsys.readouterr().err
    assert run_recipe("search", ["bow", "--trials", "3", *SPACE, *FAST, "--output_dir", str(out), "--resume"]) == 0
    assert f"trial {cut.number} was interrupted" in capsys.readouterr().out
    trials = json.loads((folder / "best.json").read_text())["trials"]
    assert [t["state"] for t in trials[:3]] == ["complete", "complete", "fail"]
    assert trials[3]["state"] in ("complete", "pruned")  # the median pruner may stop it after its first epoch
    assert trials[:2] == first["trials"]  # finished trials are kept, not re-run
    assert trials[3]["params"] == {"learning_rate": cut.params["learning_rate"]}


@pytest.mark.parametrize("args,message", [
    (["bow", "--param", "learning_rate=0.1"], "a range is low:high, with :log"),
    (["bow", "--param", "learning_rate=0.5:2.5:int"], "needs whole-number bounds"),
    (["bow", "--param", "learning_rate=1:0.1"], "must be below high"),
    (["bow", "--param", "learning_rate=0:1:log"], "log-scale range must be positive"),
    (["bow", "--param", "learning_rate=0.01:0.1", "--learning_rate", "0.05"], "is searched, so it cannot also be fixed"),
    (["bow", "--resume"], "no search to continue"),
    (["bow", "--no_test"], "is the search's to set for its trials"),
    (["bow", "--push-to-hub"], "--push_to_hub is the search's to set for its trials"),
    (["bow", "--trials", "0"], "--trials must be at least 1"),
    (["bogus"], "invalid choice: 'bogus'"),
])
def test_bad_search_options_are_refused_before_any_trial(tmp_path, capsys, args, message):
    assert_usage_error("search", args, message, tmp_path / "out", capsys)
