"""Pretraining as users run it: each family's objective, the saved run fine-tuned, reuse, resume, padding, the biLM."""

import json
from pathlib import Path

import pytest
import torch
from accelerate import init_empty_weights
from safetensors.torch import load_file

from conftest import crashed_copy, run_recipe
from test_road import assert_predictions_survive_reload
from pipeline.harness.tasks import TASK_TYPES, head_for
from pipeline.harness.models import PRESETS, ModelSpec, load_model, train_tokenizer
from pipeline.harness.records import read_record
from pipeline.harness.reports import leaderboard
from pipeline.steps.pretraining.bilm import (BILM_PRESETS, PUBLISHED_PARAMETERS, BiLM, BiLMCollator, BiLMConfig,
                                       BiLMForLanguageModeling, word_inputs)

SMALL = ["--corpus_size", "600", "--held_out", "60", "--block_size", "32", "--batch_size", "16", "--epochs", "2",
         "--vocab_size", "400"]
SENTENCES = ["the plot was not bad .", "honestly , the acting was dull , but the score was superb in every scene .",
             "a gripping film .", "i would not call the pacing of this thriller tedious at times ."]


def record_of(root: Path, pattern: str) -> dict:
    (path,) = root.glob(f"{pattern}/results.json")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """One small pretraining per objective, in one output folder."""
    out = tmp_path_factory.mktemp("pretrain")
    for objective in ("mlm", "clm", "plm", "bilm"):
        assert run_recipe("pretrain", [*SMALL, "--objective", objective, "--output_dir", str(out)]) == 0
    return out


@pytest.mark.parametrize("objective,model", [("mlm", "bert-tiny"), ("clm", "gpt2-tiny"), ("plm", "xlnet-tiny"),
                                             ("bilm", "elmo-tiny")])
def test_each_objective_records_held_out_perplexity_speed_and_a_loss_curve(pretrained, objective, model):
    record = record_of(pretrained, f"pretrain-{objective}-{model}-builtin-*")
    metrics = record["metrics"]
    assert record["recipe"] == "pretrain" and record["method"] == objective
    vocabulary = json.loads((Path(record["run_dir"]) / "model" / "config.json").read_text())["vocab_size"]
    # Learning happened: better than guessing uniformly over the vocabulary, and the loss went down.
    assert 1 < metrics["perplexity"] < vocabulary / 2
    losses = record["validation"]["losses"]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    assert metrics["tokens_per_second"] > 0 and metrics["train_tokens"] > 0
    assert record["task"]["sizes"] == {"train": 540, "held_out": 60}
    assert (Path(record["run_dir"]) / "loss_curve.png").stat().st_size > 1000
    card = (Path(record["run_dir"]) / "model" / "README.md").read_text()
    assert objective in card and "perplexity" in card.lower()
    if objective == "bilm":
        assert metrics["forward_perplexity"] > 1 and metrics["backward_perplexity"] > 1


@pytest.mark.parametrize("objective,model", [("mlm", "bert-tiny"), ("clm", "gpt2-tiny"), ("plm", "xlnet-tiny")])
def test_a_pretraining_run_fine_tunes_like_any_model(pretrained, objective, model, tmp_path):
    run = record_of(pretrained, f"pretrain-{objective}-{model}-builtin-*")["run_dir"]
    args = ["--model", run, "--epochs", "1", "--max_train_samples", "64", "--max_eval_samples", "32",
            "--batch_size", "16", "--output_dir", str(tmp_path)]
    assert run_recipe("finetune", args) == 0
    record = record_of(tmp_path, "finetune-*")
    assert record["model"]["pretraining"]["objective"] == objective
    assert record["model"]["pretraining"]["model"] == model
    # A masked LM never trains BERT's [CLS]: its saved config asks for the mean read-out, and the fine-tune has it.
    pooled = ", mean-pooled" if objective == "mlm" else ""
    assert record["model"].get("pooling") == ("mean" if objective == "mlm" else None)
    (table,) = leaderboard([read_record(record["run_dir"])])  # the row says what the model was pretrained with, and on what
    (row,) = [row for row in table["rows"] if row["method"] != "trivial"]  # beside the trivial guess's floor
    assert row["model"] == f"{model} ({objective}-pretrained on builtin){pooled}"
    assert_predictions_survive_reload(record)  # the predictor loads the head the run trained
    # The transformer body came from the pretraining: its embeddings are the saved ones.
    saved = load_file(Path(run) / "model" / "model.safetensors")
    tuned = load_file(Path(record["run_dir"]) / "model" / "model.safetensors")
    key = next(k for k in saved if "word_embedding" in k or k.endswith("wte.weight"))
    assert key in tuned and tuned[key].shape == saved[key].shape


def test_the_same_pretraining_is_reused_not_repeated(pretrained, capsys):
    before = sorted(p.name for p in pretrained.iterdir())
    assert run_recipe("pretrain", [*SMALL, "--objective", "mlm", "--output_dir", str(pretrained)], capsys) == 0
    assert "reusing the finished run" in capsys.readouterr().out
    assert sorted(p.name for p in pretrained.iterdir()) == before


def test_a_bilm_is_not_a_classifier(pretrained, tmp_path, capsys):
    run = record_of(pretrained, "pretrain-bilm-*")["run_dir"]
    code = run_recipe("finetune", ["--model", run, "--output_dir", str(tmp_path / "out")])
    assert code == 2
    assert "no sequence-classification head" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_masked_lm_resumes_exactly(tmp_path, capsys):
    """Masks are drawn from a seed made of each batch's tokens, so a resumed run sees the same ones."""
    args = [*SMALL, "--objective", "mlm", "--epochs", "2", "--checkpoint_every", "5", "--keep_checkpoints"]
    straight = tmp_path / "straight"
    assert run_recipe("pretrain", [*args, "--output_dir", str(straight)]) == 0
    (run,) = straight.glob("pretrain-*")
    crashed = crashed_copy(run, tmp_path / "crashed", after_step=20).parent
    capsys.readouterr()
    assert run_recipe("pretrain", [*args, "--output_dir", str(crashed), "--resume"], capsys) == 0
    out = capsys.readouterr().out
    assert "resuming from" in out and "step-0000020" in out
    a = json.loads((run / "results.json").read_text())
    b = json.loads((crashed / run.name / "results.json").read_text())
    assert a["validation"]["history"] == b["validation"]["history"]
    wa, wb = load_file(run / "model" / "model.safetensors"), load_file(crashed / run.name / "model" / "model.safetensors")
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=0, atol=1e-6)


BAD = [  # tried in-process and under accelerate launch by tests/test_bad_input.py
    (["--objective", "plm", "--model", "bert-tiny"], "does not train 'bert-tiny'"),
    (["--objective", "mlm", "--model", "gpt2-tiny"], "use --objective clm"),
    (["--objective", "plm", "--block_size", "33"], "must be even"),
    (["--objective", "elmo"], "choose mlm, clm, plm, bilm"),
    (["--corpus", "missing.txt"], "does not exist"),
    (["--corpus_size", "5"], "too few to keep a tenth apart"),
    (["--model", "outputs/nothing-here"], "is not a preset or a local folder"),
]


def test_corpus_from_a_text_file_and_a_column(tmp_path, capsys):
    lines = [f"review number {i} says the film was {'good' if i % 2 else 'bad'} ." for i in range(300)]
    (tmp_path / "corpus.txt").write_text("\n".join(lines) + "\n\n")
    (tmp_path / "corpus.csv").write_text("id,body\n" + "".join(f"{i},{t}\n" for i, t in enumerate(lines)))
    for source in (["--corpus", str(tmp_path / "corpus.txt")],
                   ["--corpus", str(tmp_path / "corpus.csv"), "--corpus_column", "body"]):
        out = tmp_path / source[1].rsplit(".", 1)[1]
        args = [*source, "--held_out", "30", "--block_size", "16", "--epochs", "1", "--output_dir", str(out)]
        assert run_recipe("pretrain", args) == 0
        assert record_of(out, "pretrain-*")["task"]["sizes"] == {"train": 270, "held_out": 30}


@pytest.mark.parametrize("preset,pooling", [(name, None) for name in PRESETS] + [("bert-tiny", "mean")])
def test_a_padded_batch_gives_each_sentence_its_own_logits(preset, pooling):
    """Every family reads its batch the way its hub tokenizer pads it: GPT-2 pads with end-of-text on the
    right and reads the last real token, XLNet pads on the left and reads its last token; the mean read-out
    leaves padding out."""
    loaded = load_model(ModelSpec(model=preset, dropout=0.0, pooling=pooling), head_for(["negative", "positive"], TASK_TYPES["single_label"]), SENTENCES * 10)
    model, tokenizer = loaded.model.eval(), loaded.tokenizer
    if loaded.info["family"] == "gpt2":
        assert tokenizer.pad_token == tokenizer.eos_token and tokenizer.padding_side == "right"
    if loaded.info["family"] == "xlnet":
        assert tokenizer.padding_side == "left"
    with torch.no_grad():
        batch = model(**tokenizer(SENTENCES, padding=True, return_tensors="pt")).logits
        alone = torch.cat([model(**tokenizer([s], return_tensors="pt")).logits for s in SENTENCES])
    torch.testing.assert_close(batch, alone, rtol=0, atol=1e-5)


def test_bilm_layers_ignore_padding_and_survive_save_and_load(tmp_path):
    tokenizer = train_tokenizer("elmo", SENTENCES * 5, 200, "elmo-tiny")
    model = BiLMForLanguageModeling(BiLMConfig(vocab_size=len(tokenizer), **BILM_PRESETS["elmo-tiny"])).eval()
    collate = BiLMCollator(tokenizer, 20)
    rows = word_inputs(tokenizer, SENTENCES, 64)
    examples = [{"input_ids": i, "words": w} for i, w in zip(rows["input_ids"], rows["words"])]
    assert rows["words"][0] == ["<S>", "the", "plot", "was", "not", "bad", ".", "</S>"]
    with torch.no_grad():
        batch = model(**collate(examples)).hidden_states
        assert len(batch) == 3 and batch[0].shape[-1] == 2 * 128
        for i, example in enumerate(examples):
            alone = model(**collate([example])).hidden_states
            n = len(example["input_ids"])
            for a, b in zip(batch, alone):
                torch.testing.assert_close(a[i, :n], b[0], rtol=0, atol=1e-5)
        model.save_pretrained(tmp_path)
        again = BiLMForLanguageModeling.from_pretrained(tmp_path).eval()
        torch.testing.assert_close(model(**collate(examples)).loss, again(**collate(examples)).loss)


@pytest.mark.parametrize("name,expected", [("elmo-small", 13_593_312), ("elmo-medium", 28_027_744),
                                           ("elmo-original", 93_600_864)])
def test_published_elmo_sizes_have_the_published_parameter_counts(name, expected):
    """Counted without the softmax, like the published 13.6M / 28.0M / 93.6M."""
    with init_empty_weights():
        model = BiLM(BiLMConfig(vocab_size=100, **BILM_PRESETS[name]))
    count = sum(p.numel() for p in model.parameters())
    assert count == expected
    assert round(count / 1e6, 1) == PUBLISHED_PARAMETERS[name] / 1e6
