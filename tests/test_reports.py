"""Parameter report and leaderboard: exact counts, meta-device speed, tables built from records only."""

import json
import resource
import shutil
import subprocess
import sys

import pytest
from transformers import BertConfig, DistilBertConfig, GPT2Config

from conftest import ROOT, run_recipe
from pipeline.harness.records import RunRecord, find_records
from pipeline.harness.reports import leaderboard, leaderboard_markdown
from pipeline.steps.sizes import PUBLISHED, count, published_sizes


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
    # ELMo from the project's own biLM class: allennlp's published 13.6M / 28.0M / 93.6M (softmax excluded).
    assert [rows[f"ELMo {size}"]["parameters"] for size in ("small", "medium", "original")] == [
        13_593_312, 28_027_744, 93_600_864]


def test_megatron_is_counted_in_seconds_without_allocating_weights():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    counted = count(PUBLISHED["MegatronLM 8.3B"][1]())
    assert 8.2e9 < counted["parameters"] < 8.4e9
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 1024  # < 1 GiB, not 33 GB


def record(run_id, fingerprint, name, method, seed, accuracy, dataset="builtin", retention=None):
    return RunRecord.from_json({"run_id": run_id, "run_dir": f"outputs/{run_id}", "recipe": "distill" if method == "distill" else "finetune",
            "method": method, "seed": seed, "parameters": 1000, "size_mb": 0.1, "retention": retention,
            "task": {"name": dataset, "fingerprint": fingerprint},
            "model": {"name": name}, "config": {"model": name, "seed": seed, "teacher": ["minilm"]},
            "metrics": {"accuracy": accuracy, "accuracy_ci95": [accuracy - 0.02, accuracy + 0.02],
                        "per_phenomenon": {"negation": accuracy - 0.1}, "speed": {"samples_per_second": 100.0}}},
                               f"outputs/{run_id}")


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
    assert tiny["score"] == pytest.approx(0.75) and tiny["score_std"] == pytest.approx(0.0707, abs=1e-4)
    assert tiny["metric"] == "accuracy"
    assert tiny["seeds"] == [1, 2] and tiny["per_phenomenon"]["negation"] == pytest.approx(0.65)
    assert rows[1]["retention"] == 0.98
    assert len(tables[1]["rows"]) == 1


def test_leaderboard_shows_the_trivial_guess_as_the_floor_of_its_test_set():
    guessed = record("b1", "f1", "minilm", "finetune", 1, 0.95)
    guessed.extra["trivial"] = {"guess": "always the most frequent class", "metric": "accuracy",
                                "test": {"score": 0.5, "ci95": [0.45, 0.55]}}
    tables = leaderboard([record("a1", "f1", "bert-tiny", "finetune", 1, 0.40), guessed])
    assert [(r["model"], r["rank"]) for r in tables[0]["rows"]] == [
        ("minilm", 1), ("trivial guess: always the most frequent class", 2), ("bert-tiny", 3)]
    text = leaderboard_markdown(tables)
    assert "| 2 | trivial guess: always the most frequent class | trivial |" in text and "| 0.5000 |" in text


def test_leaderboard_counts_a_config_and_seed_once_and_shows_single_runs_without_spread():
    tables = leaderboard([record("a1", "f1", "bert-tiny", "finetune", 1, 0.70),
                          record("a1-2", "f1", "bert-tiny", "finetune", 1, 0.70),
                          record("b1", "f1", "minilm", "finetune", 1, 0.9512345),
                          record("b2", "f1", "minilm", "finetune", 2, 0.85)])
    assert tables[0]["duplicates_dropped"] == 1
    assert [r["seeds"] for r in tables[0]["rows"]] == [[1, 2], [1]]
    text = leaderboard_markdown(tables)
    assert "1 duplicate run(s)" in text and "0.9006 ± 0.0716 (n=2)" in text
    assert "| 0.7000 |" in text and "± 0.0000" not in text and "(n=1)" not in text


def test_runs_on_the_same_test_file_share_a_table_whatever_they_trained_on(tmp_path, capsys):
    data = tmp_path / "mr"
    data.mkdir()
    words = [("superb", "pos"), ("dull", "neg"), ("great", "pos"), ("awful", "neg")]
    rows = [f"the film was {w} {i}" for i in range(60) for w, _ in words]
    labels = [l for i in range(60) for _, l in words]
    (data / "train.csv").write_text("review,sentiment\n" + "".join(f"{t},{l}\n" for t, l in zip(rows, labels)))
    (data / "test.csv").write_text("review,sentiment\n" + "".join(f"a {w} one,{l}\n" for w, l in words * 5))
    other = tmp_path / "other.csv"
    other.write_text("review,sentiment\n" + "".join(f"so {w},{l}\n" for w, l in words * 4))
    outputs = tmp_path / "outputs"
    common = ["--text_column", "review", "--label_column", "sentiment", "--output_dir", str(outputs)]
    for extra in (["--max_train_samples", "100"], ["--max_train_samples", "200"], []):
        assert run_recipe("bow", ["--dataset", str(data), *common, *extra]) == 0
    assert run_recipe("bow", ["--train_file", str(data / "train.csv"), "--test_file", str(other), *common]) == 0
    tables = leaderboard(find_records(outputs))
    assert sorted(len(t["rows"]) for t in tables) == [1, 3]
    shared = next(t for t in tables if len(t["rows"]) == 3)
    assert sorted(r["training_rows"] for r in shared["rows"]) == [100, 200, 216]
    assert len({r["data_version"] for r in shared["rows"]}) == 3


@pytest.fixture(scope="module")
def whole_road(tmp_path_factory):
    """run_all with tiny settings and two seeds: every recipe twice, then both reports."""
    outputs = tmp_path_factory.mktemp("road")
    command = [sys.executable, str(ROOT / "recipes" / "run_all.py"), "--seeds", "1", "2", "--finetune_models",
               "bert-tiny", "--teacher", "bert-tiny", "--teacher_epochs", "1", "--teacher_learning_rate", "1e-3",
               "--scratch_epochs", "1", "--rnn_epochs", "1", "--student_epochs", "1", "--student_steps", "0",
               "--max_transfer_rows", "400",
               "--max_train_samples", "160", "--max_eval_samples", "80", "--output_dir", str(outputs),
               "--pretrain", "bilm", "--pretrain_corpus_size", "600", "--pretrain_epochs", "1", "--elmo_epochs", "1",
               "--elmo_encoders", "bilm", "--no_teacher_guard"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return outputs, result.stdout


def test_run_all_runs_every_recipe_and_builds_the_reports(whole_road):
    outputs, _ = whole_road
    reports = outputs / "reports"
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.json", "leaderboard.html", "leaderboard.png",
                 "road.png", "params.md", "params.csv", "params.png"):
        assert (reports / name).is_file(), name
    tables = json.loads((reports / "leaderboard.json").read_text())["tables"]
    assert len(tables) == 1
    methods = {(r["model"], r["method"]): r for r in tables[0]["rows"]}
    assert {m for _, m in methods} == {"bow", "ngram", "word2vec", "rnn", "elmo", "finetune", "hard-labels",
                                       "distill", "trivial"}
    assert "MegatronLM 8.3B" in (reports / "params.md").read_text()


def test_runs_that_differ_only_by_seeds_are_one_row(whole_road):
    outputs, _ = whole_road
    (table,) = json.loads((outputs / "reports" / "leaderboard.json").read_text())["tables"]
    # Every step ran with seeds 1 and 2; the students' teachers differ by seed too (--teacher_seed follows
    # --seed), and the labels-only twin merges with its kind: one row each, n=2.
    runs = [row for row in table["rows"] if row["method"] != "trivial"]  # the trivial guess is no run
    assert all(row["seeds"] == [1, 2] for row in runs), [(r["model"], r["seeds"]) for r in runs]
    keys = [(r["model"], r["method"]) for r in table["rows"]]
    assert len(keys) == len(set(keys))
    assert keys.count(("bilstm", "hard-labels")) == 1
    assert table["duplicates_dropped"] == 0
    assert "(n=2)" in (outputs / "reports" / "leaderboard.md").read_text()


def test_the_lessons_are_printed_and_kept(whole_road):
    outputs, stdout = whole_road
    lessons = json.loads((outputs / "reports" / "leaderboard.json").read_text())["lessons"]
    checked = {lesson["lesson"] for lesson in lessons}
    assert "the distilled student beats the same student on the labels alone" in checked
    assert "a small student keeps the teacher's score at a fraction of its cost" in checked
    assert "reading words in context (RNN) beats a bag of words" in checked
    assert "reading words in context (ELMo) beats a bag of words" in checked
    for lesson in lessons:  # figures whether shown or not, and the same line printed and in the page
        assert lesson["line"].startswith(("shown: ", "not shown here: ")) and "McNemar p=" in lesson["line"]
        assert lesson["seeds"] == 2 and lesson["line"] in stdout
        assert lesson["line"] in (outputs / "reports" / "leaderboard.md").read_text()
    context = next(lesson for lesson in lessons if "(RNN)" in lesson["lesson"])
    assert "on negation and contrast" in context["line"] and context["rows"] < 80 * 2


def test_glue_prediction_files(whole_road, tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "recipes" / "leaderboard.py"), "--runs", str(whole_road[0]),
                             "--output_dir", str(tmp_path / "r"), "--predictions", str(tmp_path / "p")],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    files = sorted((tmp_path / "p").glob("*.tsv"))
    # bow, ngram, fastText, word2vec, rnn, elmo, fine-tune, labels-only student, distilled; two seeds each
    assert len(files) == 18
    lines = files[0].read_text().splitlines()
    assert lines[0] == "index\tprediction" and len(lines) == 81
    assert lines[1].split("\t")[0] == "0" and lines[1].split("\t")[1] in ("negative", "positive")


def test_leaderboard_html_renders_in_chromium(whole_road, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (Debian package 'chromium')")
    page = whole_road[0] / "reports" / "leaderboard.html"
    result = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                            capture_output=True, text=True)
    dom = result.stdout
    assert "<table>" in dom and "bert-tiny" in dom and "distill" in dom, result.stderr[-2000:]
    assert dom.count("<tr>") >= 4 and "data:image/png;base64," in dom
