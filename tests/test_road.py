"""The road's first steps: bag-of-words and n-grams, fastText, Word2Vec, RNN, and predicting with any run."""

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, assert_served_by_transformers, launch, run_recipe
from pipeline.harness.data import DataSpec, joined_texts, load_task
from pipeline.predictor import load_predictor
from pipeline.steps.word2vec import load_sklearn

SMALL = ["--max_train_samples", "600", "--max_eval_samples", "120"]


def only_record(outputs, method=None):
    found = [json.loads(p.read_text()) for p in outputs.glob("*/results.json")]
    found = [r for r in found if method is None or r["method"] == method]
    assert len(found) == 1, [r["run_id"] for r in found]
    return found[0]


def assert_predictions_survive_reload(record):
    """A saved run, loaded back by the predictor, gives the labels it wrote at test time."""
    task = load_task(DataSpec(**{k: record["config"][k] for k in ("dataset", "max_train_samples", "max_eval_samples")}))
    predictor = load_predictor(record["run_dir"])
    labels = [shown["label"] for shown, _ in predictor.readable(joined_texts(task.splits["test"]))]
    lines = (Path(record["run_dir"]) / "test_predictions.tsv").read_text().splitlines()[1:]
    written = [line.split("\t")[1] for line in lines]
    assert labels == written


@pytest.fixture(scope="module")
def road(tmp_path_factory):
    return tmp_path_factory.mktemp("road")


@pytest.fixture(scope="module")
def bow_run(road):
    """A one-hot bag-of-words run, trained on first use (scikit-learn is fast: the whole training split)."""
    out = road / "bow"
    if not out.exists():
        args = ["--features", "binary", "--ngram_max", "1", "--max_eval_samples", "400", "--output_dir", str(out)]
        assert run_recipe("bow", args) == 0
    return only_record(out)


def test_one_hot_bag_of_words_is_binary_and_counts_its_coefficients(bow_run):
    record = bow_run
    assert record["method"] == "bow" and record["recipe"] == "bow"
    pipeline = load_sklearn(Path(record["run_dir"]) / "model" / "pipeline.skops")
    row = pipeline.named_steps["vectorizer"].transform(["good good good film film"])
    assert set(row.data.tolist()) == {1}  # presence, not counts
    classifier = pipeline.named_steps["classifier"]
    assert record["parameters"] == classifier.coef_.size + classifier.intercept_.size
    assert record["metrics"]["per_phenomenon"]["plain"] > 0.7
    assert_predictions_survive_reload(record)


def test_tfidf_ngrams(road):
    out = road / "ngram"
    args = ["--features", "tfidf", "--ngram_max", "3", "--classifier", "sgd", *SMALL, "--output_dir", str(out)]
    assert run_recipe("bow", args) == 0
    record = only_record(out)
    assert record["method"] == "ngram" and record["model"]["vocabulary"] > 1000
    assert_predictions_survive_reload(record)


def test_fasttext_on_the_harness_loop(road, capsys):
    out = road / "fasttext"
    result = launch("bow", ["--features", "fasttext", "--epochs", "2", "--learning_rate", "0.05", "--buckets", "2000",
                            *SMALL, "--output_dir", str(out)])
    assert result.returncode == 0, result.stderr[-2000:]
    record = only_record(out)
    assert record["model"]["family"] == "fasttext" and len(record["validation"]["history"]) == 2
    assert_predictions_survive_reload(record)
    assert_served_by_transformers(record["run_dir"], ["the plot was superb .", "a dull film ."], capsys)


@pytest.fixture(scope="module")
def word2vec_run(road):
    """The record of a word2vec run of one architecture, trained on first use (tests that read one build it)."""

    def run(architecture: str) -> dict:
        out = road / f"w2v-{architecture}"
        if not out.exists():
            args = ["--architecture", architecture, "--weighting", "tfidf", "--min_count", "1", "--w2v_epochs", "3",
                    "--neighbors", "plot", "zzzz", "--analogy", "good,great,bad", *SMALL, "--output_dir", str(out)]
            assert run_recipe("word2vec", args) == 0
        return only_record(out)

    return run


@pytest.mark.parametrize("architecture", ["cbow", "skipgram"])
def test_word2vec_trains_evaluates_and_queries(word2vec_run, architecture):
    record = word2vec_run(architecture)
    vectors = record["word_vectors"]
    assert vectors["words_per_second"] > 0
    assert 0 <= vectors["analogies"]["accuracy"] <= 1 and 0 <= vectors["analogies"]["oov_ratio"] <= 1
    for name in ("wordsim353", "simlex999"):
        assert 0 < vectors[name]["oov_ratio"] <= 1
    assert len(record["queries"]["neighbors"]["plot"]) == 8
    assert record["queries"]["neighbors"]["zzzz"] == "not in the vocabulary"
    assert_predictions_survive_reload(record)


def test_pretrained_vectors_in_word2vec_format(word2vec_run, tmp_path):
    from gensim.models import KeyedVectors

    trained = KeyedVectors.load_word2vec_format(str(Path(word2vec_run("cbow")["run_dir"]) / "model" / "vectors.bin"),
                                                binary=True)
    for suffix, binary in ((".txt", False), (".bin", True)):
        path = tmp_path / f"vectors{suffix}"
        trained.save_word2vec_format(str(path), binary=binary)
        out = tmp_path / f"out{suffix}"
        assert run_recipe("word2vec", ["--pretrained", str(path), *SMALL, "--output_dir", str(out)]) == 0
        record = only_record(out)
        assert record["model"]["vocabulary"] == len(trained.key_to_index)


def test_rnn_with_word2vec_initialisation(road, word2vec_run):
    out = road / "rnn"
    vectors_run = word2vec_run("skipgram")["run_dir"]
    result = launch("rnn", ["--cell", "gru", "--epochs", "1", "--learning_rate", "2e-3", "--sequence_length", "32",
                            "--vectors", vectors_run, *SMALL, "--output_dir", str(out)])
    assert result.returncode == 0, result.stderr[-2000:]
    record = only_record(out)
    assert record["model"]["name"] == "bigru" and record["model"]["vector_coverage"] > 0.5
    assert (out / record["run_id"] / "model" / "tokenizer.json").is_file()  # the vocabulary travels with it
    assert_predictions_survive_reload(record)


def test_predict_reads_arguments_files_and_stdin(bow_run, tmp_path, capsys, monkeypatch):
    """From the shell once (a text argument); a file and stdin in-process, as the same script reads them."""
    run = bow_run["run_dir"]
    by_argument = subprocess.run([sys.executable, str(ROOT / "recipes" / "predict.py"), run, "the plot was superb ."],
                                 capture_output=True, text=True)
    assert by_argument.returncode == 0, by_argument.stderr
    label, probability, text = by_argument.stdout.strip().split("\t")
    assert label in ("negative", "positive") and 0.5 <= float(probability) <= 1 and text == "the plot was superb ."
    sentences = tmp_path / "s.txt"
    sentences.write_text("the plot was superb .\nthe acting was dull .\n")
    capsys.readouterr()
    assert run_recipe("predict", [run, "--file", str(sentences), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and set(rows[0]["probabilities"]) == {"negative", "positive"}
    monkeypatch.setattr(sys, "stdin", io.StringIO("the plot was superb .\n"))
    assert run_recipe("predict", [run]) == 0
    assert capsys.readouterr().out.split("\t")[0] == label


def test_predict_names_a_model_kind_it_cannot_load(bow_run, tmp_path, capsys):
    """A run written by another version (a kind missing from MODEL_KINDS) is refused in one line."""
    run = tmp_path / "foreign"
    shutil.copytree(bow_run["run_dir"], run)
    record = json.loads((run / "results.json").read_text())
    record["model"]["class"] = "QuantumClassifier"
    (run / "results.json").write_text(json.dumps(record))
    capsys.readouterr()
    assert run_recipe("predict", [str(run), "the plot was superb ."]) == 2
    err = capsys.readouterr().err
    assert "kind 'QuantumClassifier', which this version cannot load" in err and "RecurrentClassifier" in err, err


@pytest.mark.parametrize("recipe,args,message", [
    ("bow", ["--features", "nope"], "choose one of binary, count, tfidf, fasttext"),
    ("word2vec", ["--pretrained", "missing.bin"], "does not exist"),
    ("word2vec", ["--architecture", "glove"], "choose cbow or skipgram"),
    ("rnn", ["--cell", "transformer"], "choose lstm or gru"),
    ("predict", ["/nonexistent/run", "text"], "is not a finished run"),
], ids=["bow-features", "w2v-pretrained", "w2v-architecture", "rnn-cell", "predict-run"])
def test_bad_input(tmp_path, capsys, recipe, args, message):
    out = tmp_path / "out"
    capsys.readouterr()
    extra = [] if recipe == "predict" else [*SMALL, "--output_dir", str(out)]
    assert run_recipe(recipe, [*args, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len([l for l in err.splitlines() if l.startswith("error:")]) == 1, err
    assert not out.exists() or not any(out.iterdir())
