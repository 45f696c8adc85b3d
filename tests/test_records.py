import json

import pytest
import torch
from accelerate import Accelerator

from pipeline.harness.errors import UsageError
from pipeline.harness.records import RunRecord, find_records, read_record, write_record
from pipeline.harness.runs import RunOptions, config_hash, start_run
from pipeline.harness.stages import Stage, run_stage


def test_config_hash_ignores_where_and_how_a_run_is_kept():
    config = {"model": "minilm", "seed": 1, "output_dir": "a", "resume": False}
    assert config_hash(config) == config_hash({**config, "output_dir": "b", "resume": True})
    assert config_hash(config) != config_hash({**config, "seed": 2})


def minimal_record(run, **extra) -> RunRecord:
    return RunRecord(run_id=run.id, run_dir=str(run.dir), recipe="x", method="x", task={}, model={}, parameters=1,
                     metrics={"accuracy": 0.5}, seed=1, config=run.config, extra=extra)


def test_runs_never_reuse_a_folder_and_resume_picks_the_unfinished_one(tmp_path):
    accelerator = Accelerator(cpu=True)
    options = RunOptions(output_dir=str(tmp_path))
    first = start_run(options, "finetune", parts=["bert-tiny", "builtin"], config={"seed": 1}, accelerator=accelerator)
    write_record(minimal_record(first))
    second = start_run(options, "finetune", parts=["bert-tiny", "builtin"], config={"seed": 1}, accelerator=accelerator)
    assert second.dir != first.dir and second.dir.name == first.dir.name + "-2"
    with pytest.raises(UsageError, match="no unfinished run"):
        start_run(RunOptions(output_dir=str(tmp_path), resume=True), "finetune", parts=["bert-tiny", "builtin"],
                  config={"seed": 1}, accelerator=accelerator)
    (second.dir / "checkpoints").mkdir()
    resumed = start_run(RunOptions(output_dir=str(tmp_path), resume=True), "finetune", parts=["bert-tiny", "builtin"],
                        config={"seed": 1}, accelerator=accelerator)
    assert resumed.dir == second.dir


def test_records_are_atomic_and_found(tmp_path):
    accelerator = Accelerator(cpu=True)
    run = start_run(RunOptions(output_dir=str(tmp_path)), "x", parts=["m", "d"], config={}, accelerator=accelerator)
    assert find_records(tmp_path) == []  # a folder without a record is an unfinished run
    write_record(minimal_record(run, value=1))
    assert not list(run.dir.glob("*.tmp"))
    assert json.loads((run.dir / "results.json").read_text())["value"] == 1  # a recipe's extra, at the top
    assert [r.run_id for r in find_records(tmp_path)] == [run.id]
    found = read_record(run.dir)
    assert found.extra == {"value": 1} and found.schema == 1 and found.metrics == {"accuracy": 0.5}


def test_a_stage_builds_its_model_from_its_own_seed_whatever_ran_before(tmp_path):
    """A teacher fine-tuned after the student's accelerator seeded the process (or after another stage
    drew random numbers) starts from the same initialisation as one fine-tuned alone."""
    accelerator = Accelerator(cpu=True)
    drawn = []
    for earlier_seed in (1, 2):
        torch.manual_seed(earlier_seed)
        torch.rand(5)  # whatever ran before in the process
        stage = Stage("teacher", "finetune", ["m", "d"], {"seed": 42, "earlier": earlier_seed})
        run_stage(stage, lambda run, resume: minimal_record(run), options=RunOptions(output_dir=str(tmp_path)),
                  accelerator=accelerator, reuse=False, prepare=lambda: drawn.append(torch.rand(3)))
    torch.testing.assert_close(drawn[0], drawn[1])


def test_a_recipes_yaml_spells_out_its_defaults_so_it_finds_the_same_runs():
    """recipes/configs/<recipe>.yaml says it is the default run spelled out: its config (and so the runs it
    reuses) is the plain command's."""
    import runpy

    from conftest import ROOT
    from pipeline.harness.config import parse_options
    from pipeline.harness.finetuning import FINETUNE_OPTIONS

    distill = runpy.run_path(str(ROOT / "recipes" / "distill.py"))
    for recipe, types, defaults in [("finetune", FINETUNE_OPTIONS, None),
                                    ("distill", distill["OPTIONS"], distill["DEFAULTS"])]:
        plain = parse_options(types, "", [], defaults=defaults)[1]
        spelled = parse_options(types, "", ["--config", str(ROOT / "recipes" / "configs" / f"{recipe}.yaml")],
                                defaults=defaults)[1]
        assert spelled == plain, recipe
