"""Parameter report and leaderboard: exact counts, meta-device speed, tables built from records only."""

import json
import resource
import shutil
import subprocess
import sys
import time

import pytest
from transformers import BertConfig, DistilBertConfig, GPT2Config

from conftest import ROOT
from pipeline.reports import leaderboard
from pipeline.sizes import PUBLISHED, count, published_sizes


@pytest.mark.parametrize("config,expected", [(BertConfig(), 109_482_240), (GPT2Config(), 124_439_808),
                                             (DistilBertConfig(), 66_362_880)],
                         ids=["bert-base-uncased", "gpt2", "distilbert-base-uncased"])
def test_exact_parameter_counts(config, expected):
    assert count(config)["parameters"] == expected


def test_published_offline_configs_match_the_reference_counts():
    rows = {r["model"]: r for r in published_sizes(use_hub=False)}
    assert rows["BERT-base"]["parameters"] == 109_482_240
    assert rows["GPT-2"]["parameters"] == 124_439_808
    assert rows["DistilBERT"]["parameters"] == 66_362_880
    assert rows["BERT-base"]["embedding"] + rows["BERT-base"]["non_embedding"] == 109_482_240
    assert rows["GPT-2"]["mb_fp16"] == pytest.approx(124_439_808 * 2 / 1e6)


def test_megatron_is_counted_in_seconds_without_allocating_weights():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    start = time.time()
    counted = count(PUBLISHED["MegatronLM 8.3B"][1]())
    assert 8.2e9 < counted["parameters"] < 8.4e9
    assert time.time() - start < 30
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 1024  # < 1 GiB, not 33 GB


def record(run_id, fingerprint, name, method, seed, accuracy, dataset="builtin", retention=None):
    return {"run_id": run_id, "run_dir": f"outputs/{run_id}", "recipe": "distill" if method == "distill" else "finetune",
            "method": method, "seed": seed, "parameters": 1000, "size_mb": 0.1, "retention": retention,
            "task": {"name": dataset, "fingerprint": fingerprint},
            "model": {"name": name}, "config": {"model": name, "seed": seed, "teacher": ["minilm"]},
            "metrics": {"accuracy": accuracy, "accuracy_ci95": [accuracy - 0.02, accuracy + 0.02],
                        "per_phenomenon": {"negation": accuracy - 0.1}, "speed": {"samples_per_second": 100.0}}}


def test_leaderboard_groups_seeds_ranks_and_never_mixes_data_versions():
    tables = leaderboard([record("a1", "f1", "bert-tiny", "finetune", 1, 0.70),
                          record("a2", "f1", "bert-tiny", "finetune", 2, 0.80),
                          record("b1", "f1", "minilm", "finetune", 1, 0.95),
                          record("c1", "f2", "minilm", "finetune", 1, 0.90),
                          record("d1", "f1", "distil", "distill", 1, 0.93, retention=0.98)])
    assert [t["fingerprint"] for t in tables] == ["f1", "f2"]
    rows = tables[0]["rows"]
    assert [r["model"] for r in rows] == ["minilm", "distil (from minilm)", "bert-tiny"]
    tiny = rows[2]
    assert tiny["accuracy"] == pytest.approx(0.75) and tiny["accuracy_std"] == pytest.approx(0.0707, abs=1e-4)
    assert tiny["seeds"] == [1, 2] and tiny["per_phenomenon"]["negation"] == pytest.approx(0.65)
    assert rows[1]["retention"] == 0.98
    assert len(tables[1]["rows"]) == 1


@pytest.fixture(scope="module")
def whole_road(tmp_path_factory):
    """run_all with tiny settings: every recipe once, then both reports (seed averaging is tested above)."""
    outputs = tmp_path_factory.mktemp("road")
    command = [sys.executable, str(ROOT / "recipes" / "run_all.py"), "--seeds", "1", "--finetune_models",
               "bert-tiny", "--teacher", "bert-tiny", "--teacher_epochs", "1", "--scratch_epochs", "1", "--rnn_epochs", "1",
               "--max_train_samples", "160", "--max_eval_samples", "80", "--output_dir", str(outputs)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return outputs


def test_run_all_runs_every_recipe_and_builds_the_reports(whole_road):
    reports = whole_road / "reports"
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.json", "leaderboard.html", "leaderboard.png",
                 "params.md", "params.csv", "params.png"):
        assert (reports / name).is_file(), name
    tables = json.loads((reports / "leaderboard.json").read_text())
    assert len(tables) == 1
    methods = {(r["model"], r["method"]): r for r in tables[0]["rows"]}
    assert methods[("bert-tiny", "finetune")]["seeds"] == [1]  # the distillation reused it as its teacher
    assert methods[("bilstm (from bert-tiny)", "distill")]["retention"] is not None
    assert {m for _, m in methods} == {"bow", "ngram", "word2vec", "rnn", "finetune", "hard-labels", "distill"}
    assert "(n=1)" in (reports / "leaderboard.md").read_text()
    assert "MegatronLM 8.3B" in (reports / "params.md").read_text()


def test_glue_prediction_files(whole_road, tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "recipes" / "leaderboard.py"), "--runs", str(whole_road),
                             "--out", str(tmp_path / "r"), "--predictions", str(tmp_path / "p")],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    files = sorted((tmp_path / "p").glob("*.tsv"))
    # bow, ngram, fastText, word2vec, rnn, fine-tune, labels-only student, distilled student
    assert len(files) == 8
    lines = files[0].read_text().splitlines()
    assert lines[0] == "index\tprediction" and len(lines) == 81
    assert lines[1].split("\t")[0] == "0" and lines[1].split("\t")[1] in ("negative", "positive")


def test_leaderboard_html_renders_in_chromium(whole_road, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (Debian package 'chromium')")
    page = whole_road / "reports" / "leaderboard.html"
    result = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                            capture_output=True, text=True)
    dom = result.stdout
    assert "<table>" in dom and "bert-tiny" in dom and "distill" in dom, result.stderr[-2000:]
    assert dom.count("<tr>") >= 4 and "data:image/png;base64," in dom
