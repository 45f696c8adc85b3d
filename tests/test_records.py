import json

import pytest
from accelerate import Accelerator

from pipeline.errors import UsageError
from pipeline.records import RunOptions, config_hash, find_records, start_run, write_record


def test_config_hash_ignores_where_and_how_a_run_is_kept():
    config = {"model": "minilm", "seed": 1, "output_dir": "a", "resume": False}
    assert config_hash(config) == config_hash({**config, "output_dir": "b", "resume": True})
    assert config_hash(config) != config_hash({**config, "seed": 2})


def test_runs_never_reuse_a_folder_and_resume_picks_the_unfinished_one(tmp_path):
    accelerator = Accelerator(cpu=True)
    options = RunOptions(output_dir=str(tmp_path))
    first = start_run(options, "finetune", parts=["bert-tiny", "builtin"], config={"seed": 1}, accelerator=accelerator)
    write_record(first, {"run_id": first.id})
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
    write_record(run, {"run_id": run.id, "value": 1})
    assert not list(run.dir.glob("*.tmp"))
    assert json.loads((run.dir / "results.json").read_text())["value"] == 1
    assert [r["run_id"] for r in find_records(tmp_path)] == [run.id]
