"""The fine-tuning recipe as users run it: accelerate launch, records, resume, two processes, bad input."""

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT, TINY, crashed_copy, launch, run_recipe, shared


def only_run(outputs):
    runs = [p for p in outputs.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One real fine-tune of the pretrained MiniLM on part of the built-in data: YAML config, a flag overrides it."""
    outputs = tmp_path_factory.mktemp("outputs")
    config = outputs.parent / "small.yaml"
    config.write_text("model: minilm\nlearning_rate: 0.0001\nepochs: 2\nbatch_size: 16\nmax_train_samples: 2400\n"
                      "max_eval_samples: 400\n")
    result = launch("finetune", ["--config", str(config), "--epochs", "1", "--output_dir", str(outputs)])
    assert result.returncode == 0, result.stderr[-3000:]
    return result, only_run(outputs)


def test_end_to_end_fine_tune_learns_and_records(finished):
    result, run = finished
    record = json.loads((run / "results.json").read_text())
    metrics = record["metrics"]
    assert metrics["accuracy"] > 0.75, metrics  # chance is 0.5
    low, high = metrics["accuracy_ci95"]
    assert low < metrics["accuracy"] < high
    assert set(metrics["per_phenomenon"]) == {"plain", "negation", "intensity", "contrast", "context", "distractor"}
    assert metrics["per_phenomenon"]["plain"] > 0.8
    assert record["config"]["epochs"] == 1 and record["config"]["learning_rate"] == 0.0001  # flag beats YAML
    assert record["task"]["fingerprint"] and record["parameters"] == 22_713_986
    assert record["versions"]["torch"] == "2.13.0+cpu" or record["versions"]["torch"].startswith("2.13.0")
    assert record["timings"]["seconds_per_epoch"] > 0 and metrics["speed"]["samples_per_second"] > 0
    assert len(record["validation"]["history"]) == 1
    assert not (run / "checkpoints").exists()
    assert "test accuracy" in result.stdout


def test_saved_model_works_with_transformers_pipeline(finished):
    from transformers import pipeline

    _, run = finished
    classifier = pipeline("text-classification", model=str(run / "model"))
    predictions = classifier(["the acting was superb .", "the plot was dull ."])
    assert {p["label"] for p in predictions} <= {"negative", "positive"}
    assert predictions[0]["label"] == "positive" and predictions[1]["label"] == "negative"
    card = (run / "model" / "README.md").read_text()
    assert "accuracy" in card and "pipeline_tag: text-classification" in card


def test_attention_maps_of_every_layer_and_head(finished, tmp_path, capsys):
    """recipes/attention.py draws every head of the fine-tuned MiniLM (6 layers x 12 heads) over a sentence; each
    query's weights sum to 1, and a run without attention (bag of words) says so in one line."""
    import numpy as np

    from pipeline.harness.records import read_record
    from pipeline.steps.attention import sentence_attention

    _, run = finished
    sentence = "the plot was not bad at all ."
    assert run_recipe("attention", [str(run), sentence, "--layer", "3", "--output_dir", str(tmp_path / "maps")]) == 0
    out = capsys.readouterr().out
    assert "layer 3 of 6, mean over 12 heads" in out and "not ->" in out
    assert sorted(p.name.rsplit("-", 1)[1] for p in (tmp_path / "maps").glob("*.png")) == ["heads.png", "layer3.png"]
    attention = sentence_attention(run, read_record(run), sentence)
    assert attention.weights.shape[:2] == (6, 12) and attention.tokens[:3] == ["[CLS]", "the", "plot"]
    assert np.allclose(attention.weights.sum(-1), 1.0, atol=1e-4)
    assert run_recipe("bow", ["--max_train_samples", "200", "--output_dir", str(tmp_path / "bow")]) == 0
    capsys.readouterr()
    bow = next((tmp_path / "bow").iterdir())
    assert run_recipe("attention", [str(bow), sentence, "--output_dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "has no attention" in err and err.count("\n") == 1
    assert not (tmp_path / "none").exists()


def weights(run):
    return load_file(run / "model" / "model.safetensors")


def test_resume_continues_exactly(tmp_path):
    args = TINY + ["--epochs", "2", "--checkpoint_every", "5", "--keep_checkpoints"]
    straight = tmp_path / "straight"
    assert run_recipe("finetune", args + ["--output_dir", str(straight)]) == 0  # in this process; the resume launched
    run = only_run(straight)
    steps = sorted(p.name for p in (run / "checkpoints").glob("step-*"))
    assert len(steps) >= 4
    # The state a crash in the second epoch leaves.
    crashed = crashed_copy(run, tmp_path / "crashed", after_step=20).parent
    resumed = launch("finetune", args + ["--output_dir", str(crashed), "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stdout and "step-0000020" in resumed.stdout
    a, b = weights(run), weights(crashed / run.name)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)


def test_early_stopping_stops_records_why_and_resumes_exactly(tmp_path):
    # No gain counts (a threshold of 1.0 in accuracy): epoch 1 is the best, epoch 2 the one without a gain.
    args = TINY + ["--epochs", "5", "--early_stopping_patience", "1", "--early_stopping_threshold", "1.0",
                   "--keep_checkpoints"]
    assert run_recipe("finetune", args + ["--output_dir", str(tmp_path / "straight")]) == 0
    run = only_run(tmp_path / "straight")
    validation = json.loads((run / "results.json").read_text())["validation"]
    assert validation["epochs_run"] == 2 and len(validation["history"]) == 2 and validation["steps"] == 30
    assert validation["stopped"] == "early stopping after epoch 2: no validation accuracy gain above 1.0 in 1 epoch(s)"
    assert validation["best_epoch"] in (1, 2)
    # Killed after the first epoch's checkpoint: --resume runs one more epoch, stops the same way, same weights.
    crashed = crashed_copy(run, tmp_path / "crashed", after_step=15).parent
    assert run_recipe("finetune", args + ["--output_dir", str(crashed), "--resume"]) == 0
    resumed = json.loads((crashed / run.name / "results.json").read_text())["validation"]
    assert resumed["stopped"] == validation["stopped"] and resumed["history"] == validation["history"]
    a, b = weights(run), weights(crashed / run.name)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)


class _Planted:
    """What a shared run folder could hold instead of optimizer states: a pickle that runs a command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_resume_refuses_a_checkpoint_that_would_run_code(tmp_path, capsys):
    args = TINY + ["--checkpoint_every", "5", "--keep_checkpoints"]
    assert run_recipe("finetune", args + ["--output_dir", str(tmp_path / "straight")]) == 0
    crashed = crashed_copy(only_run(tmp_path / "straight"), tmp_path / "crashed", after_step=10)
    marker = tmp_path / "code-ran"
    (latest,) = crashed.glob("checkpoints/step-0000010-*")
    torch.save({"state": _Planted(marker)}, latest / "optimizer.bin")
    capsys.readouterr()
    assert run_recipe("finetune", args + ["--output_dir", str(crashed.parent), "--resume"], capsys) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --resume: checkpoint") and err.count("\n") == 1, err
    assert not marker.exists()


def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    common = ["--model", "bert-tiny", "--epochs", "1", "--max_train_samples", "256", "--max_eval_samples", "64",
              "--learning_rate", "1e-3", "--dropout", "0"]
    one, two = tmp_path / "one", tmp_path / "two"
    single = launch("finetune", common + ["--batch_size", "16", "--output_dir", str(one)])
    double = launch("finetune", common + ["--batch_size", "8", "--output_dir", str(two)], processes=2)
    assert single.returncode == 0, single.stderr[-3000:]
    assert double.returncode == 0, double.stderr[-3000:]
    record = json.loads((only_run(two) / "results.json").read_text())
    assert record["device"]["processes"] == 2 and "MULTI_CPU" in record["device"]["distributed"]
    a, b = weights(only_run(one)), weights(only_run(two))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)


BAD = [
    (["--train_file", "missing.csv"], "does not exist"),
    (["--dataset", "{sst2}", "--text_column", "body"], "column 'body' not found"),
    (["--model", "no-such-model"], "use a local path or a preset"),
    (["--dataset", "imdb"], "Hugging Face Hub is unreachable"),
    (["--dataset", "{latin1}"], "not UTF-8"),
    (["--dataset", "{one_class}"], "single class"),
    (["--dataset", "{empty_test}"], "test split"),
    (["--dataset", "{unknown_label}"], "that the train split does not have"),
    (["--dataset", "{missing_text}"], "row(s) with no text (file lines 3)"),
    (["--dataset", "{tiny}"], "too small to carve"),
    (["--dataset", "{header_only}"], "the train split has no rows (an empty file, or a header only)"),
    (["--config", "{bad_yaml}"], "is not valid YAML"),
    *([(["--mixed_precision", "fp16"], "--mixed_precision fp16 needs a GPU")] if not torch.cuda.is_available() else []),
    (["--model", "gpt2-tiny", "--pooling", "mean"], "--pooling mean is not offered for 'gpt2-tiny'"),
    (["--early_stoping_patience", "2"], "unknown option --early_stoping_patience; did you mean "
                                         "--early_stopping_patience"),
    (["--learning_rate", "inf"], "--learning_rate must be a finite number (got inf)"),
    (["--learning_rate", "1e30"], "training diverged at optimizer step"),
    (["--resume"], "--resume: nothing to resume: no unfinished run 'finetune-bert-tiny-builtin-"),
    (["--dataset", "{bad_number}", "--task_type", "regression"], "is not a finite number at file line(s) 3"),
    (["--dataset", "{new_label}", "--task_type", "multi_label", "--label_separator", "|"],
     "the test split has labels ['z'] that no training row has"),
    (["--dataset", "{floats}", "--task_type", "single_label"], "--task_type single_label does not fit label column"),
    (["--threshold", "0.3"], "--threshold applies to multi_label tasks, and this one is single_label"),
    (["--dataset", "{ragged_tags}"], "the train split's row 2 has 3 words and 2 tags"),
    (["--dataset", "{iob1_tags}"], "tag 'PER' is not IOB2"),
    (["--dataset", "{new_tag}"], "the test split's row 1 has tag 'B-LOC', which no training row has"),
    (["--dataset", "{tags}", "--model", "{bart}"], "is a bart model, which has no token-classification head"),
    (["--epochs", "0"], "--epochs must be at least 1"),
]
# Out-of-range options: all stop in the same place (an options dataclass's check_options), so the
# launched matrix (tests/test_bad_input.py) takes BAD, whose last case stands for these.
OPTION_BAD = [
    (["--epochs", "-1"], "--epochs must be at least 1"),
    (["--batch_size", "0"], "--batch_size must be at least 1"),
    (["--learning_rate", "-1"], "--learning_rate must be positive"),
    (["--gradient_accumulation_steps", "0"], "--gradient_accumulation_steps must be at least 1"),
    (["--validation_size", "1.5"], "--validation_size must be between 0 and 1"),
    (["--max_train_samples", "0"], "--max_train_samples must be at least 1"),
    (["--mixed_precision", "fp8"], "choose no, fp16 or bf16"),
    (["--max_length", "0"], "--max_length must be at least 2"),
    (["--pooling", "max"], "--pooling 'max': choose family, mean"),
    (["--early_stopping_patience", "-1"], "--early_stopping_patience must not be negative"),
]


def bad_input_files(tmp_path) -> dict[str, str]:
    """The files BAD's cases name, written under tmp_path: {name: path}."""
    folders = {"latin1": "text,label\ncaf\xe9,0\nbar,1\n", "one_class": "text,label\na,0\nb,0\n",
               "unknown_label": "text,label\na,0\nb,1\n"}
    for name, train in folders.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "train.csv").write_bytes(train.encode("latin-1"))
        (tmp_path / name / "test.csv").write_text("text,label\nc,5\n" if name == "unknown_label" else train)
    (tmp_path / "empty_test").mkdir()
    (tmp_path / "empty_test" / "train.csv").write_text("text,label\na,0\nb,1\n")
    (tmp_path / "empty_test" / "test.csv").write_text("text,label\n")
    (tmp_path / "missing_text").mkdir()
    (tmp_path / "missing_text" / "train.csv").write_text("text,label\na,0\n,1\nc,0\nd,1\n")
    (tmp_path / "missing_text" / "test.csv").write_text("text,label\na,0\nb,1\n")
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "train.csv").write_text("text,label\na,0\nb,1\nc,0\n")
    (tmp_path / "header_only").mkdir()
    (tmp_path / "header_only" / "train.csv").write_text("text,label\n")
    (tmp_path / "header_only" / "test.csv").write_text("text,label\na,0\nb,1\n")
    (tmp_path / "bad.yaml").write_text("epochs: [1\n")
    tasks = {"bad_number": ("text,label\na,0.5\nb,x\nc,1.5\nd,2\n", "text,label\na,0.5\nb,1\n"),
             "new_label": ("text,labels\na,x|y\nb,y\nc,x\n", "text,labels\na,x\nb,z\n"),
             "floats": ("text,label\na,0.5\nb,1.5\nc,2.5\n", "text,label\na,0.5\nb,1.5\n")}
    for name, (train, test) in tasks.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "train.csv").write_text(train)
        (tmp_path / name / "test.csv").write_text(test)
    tagged = {"ragged_tags": ([(["a", "b"], ["O", "B-PER"]), (["c", "d", "e"], ["O", "O"])], None),
              "iob1_tags": ([(["a", "b"], ["O", "PER"])], None),
              "new_tag": ([(["a", "b"], ["O", "B-PER"])], [(["c"], ["B-LOC"])]),
              "tags": ([(["a", "b"], ["O", "B-PER"])] * 4, None)}
    for name, (train, test) in tagged.items():
        (tmp_path / name).mkdir()
        for split, rows in (("train", train), ("test", test or train)):
            (tmp_path / name / f"{split}.jsonl").write_text(
                "".join(json.dumps({"tokens": words, "ner_tags": tags}) + "\n" for words, tags in rows))
    (tmp_path / "bart").mkdir()
    (tmp_path / "bart" / "config.json").write_text('{"model_type": "bart"}')
    paths = {name: str(tmp_path / name) for name in [*folders, *tasks, *tagged, "bart", "empty_test", "missing_text",
                                                     "tiny", "header_only"]}
    paths["bad_yaml"] = str(tmp_path / "bad.yaml")
    paths["sst2"] = str(ROOT.parent / "shared" / "data" / "sst2")
    return paths


@pytest.mark.parametrize("args,message", BAD + OPTION_BAD, ids=[m for _, m in BAD + OPTION_BAD])
def test_bad_input_gets_one_line_exit_2_and_no_output(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    paths = bad_input_files(tmp_path)
    if "{sst2}" in args:
        shared("sst2")
    args = [a.format(**paths) for a in args]
    outputs = tmp_path / "outputs"
    capsys.readouterr()
    status = run_recipe("finetune", [*TINY, *args, "--output_dir", str(outputs)])
    err = capsys.readouterr().err
    assert status == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], err
    assert not outputs.exists() or not any(outputs.iterdir())


@pytest.mark.parametrize("processes", [2])  # one process: every case of tests/test_bad_input.py
def test_a_usage_error_under_accelerate_launch_is_one_line_and_exit_2(tmp_path, processes):
    """The launcher ends with the recipe's status and adds no traceback of its own (pipeline/harness/launch_exit.py)."""
    result = launch("finetune", ["--epochs", "0", "--output_dir", str(tmp_path / "out")], processes=processes)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "CalledProcessError" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: --epochs must be at least 1 (got 0)"]
    assert not (tmp_path / "out").exists()


def test_the_installed_launch_hook_imports_nothing_heavy_into_other_processes():
    """Every Python process reads nlp_road_launch.pth: it must not import the package (torch, transformers) there."""
    result = subprocess.run([sys.executable, "-c", "import sys, nlp_road_launch; "
                             "print(sorted({'torch', 'transformers', 'pipeline'} & set(sys.modules)))"],
                            capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_help_lists_every_option():
    result = subprocess.run([sys.executable, str(ROOT / "recipes" / "finetune.py"), "--help"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0
    for flag in ("--dataset", "--model", "--epochs", "--checkpoint_every", "--resume", "--config",
                 "--mixed_precision", "--report_to", "--max_train_samples", "--dropout"):
        assert flag in result.stdout
