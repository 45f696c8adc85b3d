"""--push_to_hub: refused in one line before anything trains where it cannot work; otherwise the finished run's model
folder goes to the Hub in one commit, its card naming the repo, its metadata valid to huggingface_hub."""

import huggingface_hub
import pytest
from huggingface_hub import ModelCard, RepoUrl

from conftest import assert_usage_error, run_recipe

FAST = ["--features", "fasttext", "--epochs", "1", "--learning_rate", "0.05", "--max_train_samples", "300",
        "--max_eval_samples", "100"]


@pytest.fixture
def fake_hub(monkeypatch):
    """The Hub as huggingface_hub's HfApi sees it, kept in memory: repos made and commits sent."""
    sent = {"repos": [], "commits": []}

    def create_repo(self, repo_id, **options):
        sent["repos"].append((repo_id, options))
        return RepoUrl(f"https://huggingface.co/{repo_id if '/' in repo_id else 'me/' + repo_id}")

    def create_commit(self, repo_id, operations, **options):
        sent["commits"].append((repo_id, {op.path_in_repo: op.path_or_fileobj for op in operations}))

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", create_repo)
    monkeypatch.setattr(huggingface_hub.HfApi, "create_commit", create_commit)
    monkeypatch.setattr("pipeline.harness.hub.hub_reachable", lambda timeout=3.0: True)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_token")
    return sent


def test_a_finished_run_is_pushed_whole_with_a_card_naming_the_repo(tmp_path, fake_hub, capsys):
    out = tmp_path / "out"
    assert run_recipe("bow", [*FAST, "--push_to_hub", "--hub_model_id", "me/sentiment", "--hub_private",
                              "--output_dir", str(out)]) == 0
    assert "model to https://huggingface.co/me/sentiment" in capsys.readouterr().out
    assert fake_hub["repos"] == [("me/sentiment", {"private": True, "exist_ok": True, "repo_type": "model"})]
    (repo, files), = fake_hub["commits"]
    assert repo == "me/sentiment"
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= set(files)
    card_text = files["README.md"].decode()
    assert 'model="me/sentiment"' in card_text and str(out) + "/" not in card_text.split("predict.py")[0]
    card = ModelCard(card_text, ignore_metadata_errors=False)  # huggingface_hub's own parsing of the metadata
    assert card.data.library_name == "transformers" and card.data.pipeline_tag == "text-classification"
    assert {r.metric_type for r in card.data.eval_results} == {"accuracy", "f1_macro", "matthews_correlation"}


def test_a_linear_run_is_pushed_with_a_scikit_learn_card(tmp_path, fake_hub, capsys):
    assert run_recipe("bow", ["--max_train_samples", "300", "--push_to_hub", "--output_dir", str(tmp_path)]) == 0
    (repo, files), = fake_hub["commits"]
    run = next(tmp_path.iterdir())
    assert repo == "me/" + run.name and set(files) == {"pipeline.skops", "README.md"}
    card = ModelCard(files["README.md"].decode(), ignore_metadata_errors=False)
    assert card.data.library_name == "sklearn" and "skops.io.load" in card.text


@pytest.mark.parametrize("args,message", [
    (["--push_to_hub"], "--push_to_hub to"),  # no network: HF_HUB_OFFLINE
    (["--hub_model_id", "me/x"], "--hub_model_id applies to --push_to_hub"),
    (["--hub_private"], "--hub_private applies to --push_to_hub"),
])
def test_push_options_that_cannot_work_are_refused_before_training(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert_usage_error("bow", [*FAST, *args], message, tmp_path / "out", capsys)


def test_no_token_is_refused_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("pipeline.harness.hub.hub_reachable", lambda timeout=3.0: True)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    assert_usage_error("bow", [*FAST, "--push_to_hub"], "needs a Hugging Face token", tmp_path / "out", capsys)
