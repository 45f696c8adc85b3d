"""The ELMo step as users run it: a frozen biLM (or transformer), a scalar mix, cached layers, prediction."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModel

from conftest import assert_served_by_transformers, crashed_copy, launch, run_recipe
from pipeline.steps.elmo.mix import ScalarMix

SMALL_BILM = ["--objective", "bilm", "--corpus_size", "600", "--held_out", "60", "--batch_size", "16",
              "--epochs", "1", "--vocab_size", "400"]
FAST = ["--max_train_samples", "240", "--max_eval_samples", "80", "--epochs", "2", "--batch_size", "16",
        "--hidden_size", "32"]


def records(root: Path, recipe: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(root.glob(f"{recipe}-*/results.json"))]


@pytest.fixture(scope="module")
def bilm(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bilm")
    assert run_recipe("pretrain", [*SMALL_BILM, "--output_dir", str(out)]) == 0
    (run,) = out.glob("pretrain-bilm-*")
    return run


@pytest.fixture(scope="module")
def elmo_runs(bilm, tmp_path_factory) -> Path:
    """A learned and a top-layer mix over the small biLM, sharing one feature cache."""
    out = tmp_path_factory.mktemp("elmo")
    for mix in ("learned", "top"):
        assert run_recipe("elmo", [*FAST, "--encoder", str(bilm), "--mix", mix, "--output_dir", str(out)]) == 0
    return out


def test_scalar_mix_is_softmax_weights_times_gamma():
    layers = torch.randn(2, 5, 3, 4)
    learned = ScalarMix(3)
    torch.testing.assert_close(learned(layers), layers.mean(dim=2))  # weights start equal, gamma at 1
    assert [n for n, _ in learned.named_parameters()] == ["logits", "gamma"]
    top = ScalarMix(3, mode="top")
    torch.testing.assert_close(top(layers), layers[:, :, -1])
    assert [n for n, _ in top.named_parameters()] == ["gamma"]  # the ablations learn no layer weights
    uniform = ScalarMix(3, mode="uniform", layer_norm=True)
    torch.testing.assert_close(uniform.weights(), torch.full((3,), 1 / 3))


def test_the_run_records_the_mix_frozen_and_trained_parameters_and_a_plot(elmo_runs, bilm):
    by_mix = {r["config"]["mix"]: r for r in records(elmo_runs, "elmo")}
    learned, top = by_mix["learned"], by_mix["top"]
    for record in (learned, top):
        assert record["method"] == "elmo" and 0 <= record["metrics"]["accuracy"] <= 1
        assert record["model"]["encoder_run"] == bilm.name
        assert record["mix"]["layers"] == ["tokens (char CNN)", "LSTM 1", "LSTM 2"]
        assert sum(record["mix"]["weights"]) == pytest.approx(1, abs=1e-5)
        model = record["model"]
        assert model["trained_parameters"] + model["frozen_parameters"] == record["parameters"]
        assert model["frozen_parameters"] == sum(p.numel() for p in AutoModel.from_pretrained(bilm / "model").parameters())
        assert (Path(record["run_dir"]) / "mix_weights.png").stat().st_size > 1000
    assert top["mix"]["weights"][:2] == [0, 0] and top["mix"]["weights"][2] == 1
    assert learned["mix"]["weights"] != [pytest.approx(1 / 3)] * 3  # the task moved the weights
    # The frozen biLM is saved inside the run unchanged.
    saved = load_file(Path(learned["run_dir"]) / "model" / "model.safetensors")
    original = load_file(bilm / "model" / "model.safetensors")
    for key, value in original.items():
        if key.startswith("bilm."):
            torch.testing.assert_close(saved["encoder." + key[len("bilm."):]], value, rtol=0, atol=0)


def test_cached_layers_give_the_logits_the_encoder_gives(elmo_runs):
    """Training reads float16 layers from the cache; the saved model reads raw text: the same predictions."""
    from pipeline.harness.data import DataSpec, load_task
    from pipeline.steps.elmo.features import FeatureCollator
    from pipeline.steps.elmo.model import ELMoClassifier
    from pipeline.harness.models import load_tokenizer
    from datasets import load_from_disk

    record = next(r for r in records(elmo_runs, "elmo") if r["config"]["mix"] == "learned")
    folder = Path(record["run_dir"]) / "model"
    model = ELMoClassifier.from_pretrained(folder).eval()
    inputs = model.text_inputs(load_tokenizer(str(folder)))
    rows = load_from_disk(str(Path(record["feature_cache"]["folder"]) / "test")).with_format("torch")
    task = load_task(DataSpec(max_eval_samples=80, max_train_samples=240))
    texts = list(task.splits["test"]["text"][:8])
    with torch.no_grad():
        direct = model(**{k: v for k, v in inputs(texts, max_length=64).items()}).logits
        cached = model(**{k: v for k, v in FeatureCollator()([rows[i] for i in range(8)]).items()
                          if k != "labels"}).logits
    torch.testing.assert_close(cached, direct, rtol=0, atol=2e-2)


def test_predict_and_transformers_pipeline_classify_raw_text_with_an_elmo_run(elmo_runs, capsys):
    """The biLM reads each word's characters: the run's saved tokenizer gives them to transformers' pipeline."""
    run = next(r for r in records(elmo_runs, "elmo") if r["config"]["mix"] == "learned")["run_dir"]
    assert run_recipe("predict", [run, "the plot was not bad at all ."], capsys) == 0
    out = capsys.readouterr().out
    assert "positive" in out or "negative" in out
    assert_served_by_transformers(run, ["the plot was not bad at all .", "an unforgettablyy dull film ."], capsys)


def test_the_leaderboard_and_parameter_report_show_elmo_runs(elmo_runs, tmp_path, capsys):
    assert run_recipe("leaderboard", ["--runs", str(elmo_runs), "--output_dir", str(tmp_path)], capsys) == 0
    board = (tmp_path / "leaderboard.md").read_text()
    assert "| elmo |" in board and "learned mix" in board and "top mix" in board
    capsys.readouterr()  # the old spelling of --output_dir still works, for one release, with a notice
    assert run_recipe("params_report", ["--runs", str(elmo_runs), "--out", str(tmp_path), "--offline"], capsys) == 0
    assert "note: --out is now --output_dir" in capsys.readouterr().err
    rows = (tmp_path / "params.csv").read_text().splitlines()
    header = rows[0].split(",")
    elmo = [dict(zip(header, r.split(","))) for r in rows if r.startswith("elmo-")]
    assert elmo and all(int(r["trained"]) > 0 and int(r["frozen"]) > 0 for r in elmo)


def test_without_the_cache_training_runs_the_encoder_and_learns_the_same(bilm, tmp_path):
    args = [*FAST, "--encoder", str(bilm), "--epochs", "1", "--dropout", "0"]
    assert run_recipe("elmo", [*args, "--output_dir", str(tmp_path / "cached")]) == 0
    assert run_recipe("elmo", [*args, "--no_cache_features", "--output_dir", str(tmp_path / "direct")]) == 0
    (a,), (b,) = records(tmp_path / "cached", "elmo"), records(tmp_path / "direct", "elmo")
    # float16 layers against float32 ones: the same training within rounding.
    assert a["metrics"]["accuracy"] == pytest.approx(b["metrics"]["accuracy"], abs=0.03)
    assert a["mix"]["weights"] == pytest.approx(b["mix"]["weights"], abs=1e-2)


def test_resume_after_a_crash_ends_where_an_uninterrupted_run_ends(bilm, tmp_path, capsys):
    args = [*FAST, "--encoder", str(bilm), "--checkpoint_every", "5", "--keep_checkpoints"]
    straight = tmp_path / "straight"
    assert run_recipe("elmo", [*args, "--output_dir", str(straight)]) == 0
    (run,) = straight.glob("elmo-*")
    crashed = crashed_copy(run, tmp_path / "crashed", after_step=10).parent
    capsys.readouterr()
    assert run_recipe("elmo", [*args, "--output_dir", str(crashed), "--resume"], capsys) == 0
    assert "step-0000010" in capsys.readouterr().out
    a, b = json.loads((run / "results.json").read_text()), json.loads((crashed / run.name / "results.json").read_text())
    assert a["validation"]["history"] == b["validation"]["history"] and a["mix"] == b["mix"]


BAD = [  # tried in-process and under accelerate launch by tests/test_bad_input.py
    (["--mix", "best"], "choose learned, uniform, top"),
    (["--encoder", "bert-tiny"], "untrained model"),
    (["--encoder", "outputs/nothing-here"], "is not a local folder"),
    (["--dropout", "1.5"], "--dropout must be in [0, 1)"),
    (["--resume"], "--resume: nothing to resume: no unfinished run 'pretrain-bilm-"),  # the biLM never ran
    (["--encoder", "minilm", "--resume"], "--resume: nothing to resume: no unfinished run 'elmo-minilm-"),
    # its bag-of-words baseline cannot weigh label sets by name: refused before training, not after it
    (["--encoder", "minilm", "--task_type", "multi_label", "--class_weights", "acting:praised=2"],
     "weigh label sets only as 'balanced'"),
]


def test_two_processes_train_and_every_process_sees_the_whole_record(bilm, tmp_path):
    """Under DDP the main process caches the layers and writes the record; the other reads both."""
    result = launch("elmo", [*FAST, "--encoder", str(bilm), "--output_dir", str(tmp_path)], processes=2)
    assert result.returncode == 0, result.stderr[-3000:]
    (record,) = records(tmp_path, "elmo")
    assert record["device"]["processes"] == 2
    assert "learned mix" in result.stdout and len(record["mix"]["weights"]) == 3


def test_a_bilm_tagger_reads_each_word_on_its_first_token(bilm, tmp_path):
    """Over the biLM each tagged word is split as pretraining split text and its tag read on its first token: the
    tagger trains on cached layers and tags raw text (encoder included) the way it tagged the test sentences."""
    from pipeline.harness.data import DataSpec, load_task
    from pipeline.harness.tasks import TASK_TYPES
    from pipeline.predictor import load_predictor

    out = tmp_path / "out"
    small = ["--task_type", "token_classification", "--max_train_samples", "240", "--max_eval_samples", "40"]
    assert run_recipe("elmo", [*small, "--encoder", str(bilm), "--epochs", "2", "--batch_size", "16",
                               "--hidden_size", "32", "--learning_rate", "5e-3", "--output_dir", str(out)]) == 0
    (record,) = records(out, "elmo")
    assert record["model"]["class"] == "ELMoTagger" and record["mix"]["layers"][0] == "tokens (char CNN)"
    kind, run = TASK_TYPES["token_classification"], Path(record["run_dir"])
    written = [line.split("\t")[1] for line in (run / "test_predictions.tsv").read_text().splitlines()[1:]]
    task = load_task(DataSpec(task_type="token_classification", max_eval_samples=40), tags_words=True)
    predictor = load_predictor(run)
    tagged = [kind.format(row, predictor.label_names)
              for row in kind.decide(predictor.outputs(task.splits["test"]["text"]), 0.5)]
    assert [len(t.split()) for t in tagged] == [len(words) for words in task.splits["test"]["tokens"]]
    assert sum(a == b for w, t in zip(written, tagged) for a, b in zip(w.split(), t.split())) >= 0.97 * sum(
        len(w.split()) for w in written)
