"""Task types as users meet them: found from the label column or given, every step of the road on regression
and multi-label data, what the run saves, how it predicts, and distillation with the test that fits the metric."""

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import run_recipe
from pipeline.harness.data import DataSpec, load_task
from pipeline.harness.errors import UsageError
from pipeline.predictor import load_predictor

TYPES = ["regression", "multi_label"]
# A small, fast run of any step: a few hundred built-in rows (and one short epoch for neural ones).
SMALL = ["--max_train_samples", "300", "--max_eval_samples", "120"]
ONE_EPOCH = ["--epochs", "1", "--batch_size", "16"]


def write(folder: Path, train: str, test: str, suffix: str = "csv") -> str:
    folder.mkdir()
    (folder / f"train.{suffix}").write_text(train)
    (folder / f"test.{suffix}").write_text(test)
    return str(folder)


def test_the_label_column_says_the_type_unless_it_is_ambiguous(tmp_path, capsys):
    """Floats are regression and lists multi-label, as run_glue.py / run_classification.py decide; a column of
    comma-separated strings is refused in one line that names --task_type multi_label (single_label given keeps
    each combination as a class, with a note)."""
    floats = write(tmp_path / "floats", "text,label\n" + "".join(f"t{i},{i / 7:.3f}\n" for i in range(40)),
                   "text,label\na,0.5\nb,1.5\n")
    task = load_task(DataSpec(dataset=floats))
    assert task.task_type.name == "regression" and task.describe()["task_type_from"] == "detected"
    assert task.head()["num_labels"] == 1 and task.describe()["labels"]["label_range"] == [0.0, 5.571]

    lists = write(tmp_path / "lists", "".join(json.dumps({"text": f"t{i}", "labels": ["b", "a"][: i % 3]}) + "\n"
                                             for i in range(40)), '{"text": "x", "labels": ["a"]}\n', "jsonl")
    task = load_task(DataSpec(dataset=lists))
    assert task.task_type.name == "multi_label" and task.label_names == ["a", "b"]
    assert task.splits["test"]["label"] == [[1.0, 0.0]]

    sets = "text,labels\n" + "".join(f"t{i},\"{['x,y', 'y', 'x', ''][i % 4]}\"\n" for i in range(40))
    folder = write(tmp_path / "sets", sets, "text,labels\nq,\"y,x\"\n")
    with pytest.raises(UsageError, match="looks like label sets: .* pass --task_type multi_label"):
        load_task(DataSpec(dataset=folder))  # E-c's rows without an emotion are empty cells
    full = write(tmp_path / "full", sets.replace(',""', ',"x"'), "text,labels\nq,\"x,y\"\n")
    with pytest.raises(UsageError, match="looks like label sets: .* pass --task_type multi_label"):
        load_task(DataSpec(dataset=full))
    capsys.readouterr()
    task = load_task(DataSpec(dataset=full, task_type="single_label"))
    assert task.task_type.name == "single_label" and "x,y" in task.label_names
    assert "pass --task_type multi_label" in capsys.readouterr().out
    task = load_task(DataSpec(dataset=folder, task_type="multi_label"))
    assert task.label_names == ["x", "y"] and task.describe()["task_type_from"] == "given"
    train = dict(zip(task.splits["train"]["text"], task.splits["train"]["label"]))  # carving shuffled the rows
    assert [train[f"t{i}"] for i in range(4) if f"t{i}" in train] == [
        hot for i, hot in enumerate([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]) if f"t{i}" in train]  # '' is none
    assert [0.0, 0.0] in train.values()
    piped = write(tmp_path / "piped", sets.replace("x,y", "x|y"), "text,labels\nq,y|x\n")
    assert load_task(DataSpec(dataset=piped, task_type="multi_label", label_separator="|")).label_names == ["x", "y"]


@pytest.mark.parametrize("spec,message", [
    (dict(task_type="regression"), "is not a finite number at file line(s) 4"),
    (dict(task_type="multi_label"), "the test split has labels ['c'] that no training row has"),
    (dict(), None),
])
def test_bad_labels_name_their_line(tmp_path, spec, message):
    folder = write(tmp_path / "data", "text,label\na,1\nb,2\nc,high\nd,0.5\n", "text,label\ne,c\n")
    if message is None:  # strings that are not all numbers: classes, and the test label is unseen
        message = "the test split has labels ['c'] that the train split does not have"
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_task(DataSpec(dataset=folder, **spec))


def _predictions_file(run: Path) -> list[str]:
    return [line.split("\t", 1)[1] for line in (run / "test_predictions.tsv").read_text().splitlines()[1:]]


@pytest.fixture(scope="module")
def fine_tuned(tmp_path_factory):
    """bert-tiny fine-tuned on each built-in task type (a few hundred rows, one epoch)."""
    runs = {}
    for kind in TYPES:
        out = tmp_path_factory.mktemp(kind)
        extra = ["--tune_threshold"] if kind == "multi_label" else []
        assert run_recipe("finetune", ["--model", "bert-tiny", "--learning_rate", "1e-3", *SMALL, *ONE_EPOCH,
                                       "--task_type", kind, *extra, "--output_dir", str(out)]) == 0
        runs[kind] = next(p for p in out.iterdir() if p.is_dir())
    return runs


@pytest.mark.parametrize("kind", TYPES)
def test_a_fine_tune_records_its_type_metrics_and_predictions(fine_tuned, kind):
    run = fine_tuned[kind]
    record = json.loads((run / "results.json").read_text())
    assert record["task"]["task_type"] == kind and record["task"]["name"] == f"builtin-{kind.replace('_', '-')}"
    metrics = record["metrics"]
    main = {"regression": "pearson", "multi_label": "jaccard"}[kind]
    low, high = metrics[f"{main}_ci95"]
    assert low <= metrics[main] <= high and set(metrics["per_phenomenon"])
    assert record["validation"]["best"][main] == max(h[main] for h in record["validation"]["history"])
    written = _predictions_file(run)
    assert len(written) == 120
    if kind == "regression":
        assert {"spearman", "mse"} <= set(metrics) and all(np.isfinite(float(w)) for w in written)
        assert json.loads((run / "model" / "config.json").read_text())["problem_type"] == "regression"
    else:
        names = record["task"]["label_names"]
        assert {"f1_micro", "f1_macro", "per_class"} <= set(metrics) and 0.05 <= metrics["threshold"] <= 0.95
        assert all(label in names for line in written for label in json.loads(line))
    card = (run / "model" / "README.md").read_text()
    assert {"regression": "Pearson", "multi_label": "Jaccard accuracy"}[kind] in card


@pytest.mark.parametrize("kind", TYPES)
def test_the_predictor_cli_and_transformers_pipeline_agree_with_the_run(fine_tuned, kind, capsys):
    """What predict.py prints and what transformers' pipeline returns are the model the run scored."""
    from transformers import pipeline

    run = fine_tuned[kind]
    predictor = load_predictor(run)
    task = load_task(DataSpec(task_type=kind, max_eval_samples=120))
    texts = task.splits["test"]["text"]
    shown = [line for line, _ in predictor.readable(texts)]
    written = _predictions_file(run)
    if kind == "regression":
        assert np.allclose([s["score"] for s in shown], [float(w) for w in written], atol=1e-4)
        outputs = pipeline("text-classification", model=str(run / "model"), function_to_apply="none")(texts[:5])
        assert np.allclose([o["score"] for o in outputs], [s["score"] for s in shown[:5]], atol=1e-4)
    else:
        assert [s["labels"] for s in shown] == [json.loads(w) for w in written]
        outputs = pipeline("text-classification", model=str(run / "model"), top_k=None)(texts[:1])[0]
        assert {o["label"]: o["score"] for o in outputs} == pytest.approx(shown[0]["probabilities"], abs=1e-4)
    capsys.readouterr()
    assert run_recipe("predict", [str(run), "--json", texts[0]]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["text"] == texts[0] and ("score" in printed if kind == "regression" else "labels" in printed)


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("recipe,args", [
    ("bow", []),  # TF-IDF with ridge regression / one-vs-rest logistic regressions
    ("bow", ["--features", "fasttext", "--learning_rate", "0.05", *ONE_EPOCH]),
    ("word2vec", ["--w2v_epochs", "2"]),
    ("rnn", ["--learning_rate", "2e-3", *ONE_EPOCH]),
    ("elmo", ["--encoder", "minilm", "--learning_rate", "3e-3", *ONE_EPOCH]),  # the mix over frozen MiniLM
])
def test_every_step_of_the_road_runs_each_task_type(tmp_path, kind, recipe, args):
    """Each step trains its own model of the type, scores it by the type's metrics, and loads back as it scored."""
    assert run_recipe(recipe, [*args, *SMALL, "--task_type", kind, "--output_dir", str(tmp_path)]) == 0
    run = next(p for p in tmp_path.iterdir() if p.is_dir())
    record = json.loads((run / "results.json").read_text())
    assert record["task"]["task_type"] == kind
    main = {"regression": "pearson", "multi_label": "jaccard"}[kind]
    assert -1 <= record["metrics"][main] <= 1
    predictor = load_predictor(run)
    texts = load_task(DataSpec(task_type=kind, max_eval_samples=120)).splits["test"]["text"]
    shown = [shown for shown, _ in predictor.readable(texts)]
    written = _predictions_file(run)
    if kind == "regression":
        assert np.allclose([s["score"] for s in shown], [float(w) for w in written], atol=1e-3)
    else:
        assert [s["labels"] for s in shown] == [json.loads(w) for w in written]


def test_distillation_of_a_regression_teacher_uses_mse_and_a_paired_bootstrap(tmp_path):
    """The student learns the teacher's numbers; the comparison scores Pearson and tests it the way that fits."""
    assert run_recipe("distill", ["--task_type", "regression", "--teacher", "bert-tiny", "--teacher_epochs", "1",
                                  "--no_teacher_guard", "--student_steps", "0",
                                  "--teacher_learning_rate", "1e-3", "--max_train_samples", "200", "--generated", "200",
                                  "--max_eval_samples", "120", "--epochs", "1", "--output_dir", str(tmp_path)]) == 0
    record = json.loads(next(tmp_path.glob("distill-bilstm-distill-*/results.json")).read_text())
    rows = {row["model"]: row for row in record["comparison"]}
    student = rows["student, distilled"]
    assert student["metric"] == "Pearson" and student["versus_baseline"]["test"] == "paired bootstrap"
    assert 0 < student["versus_baseline"]["p_value"] <= 1
    assert student["retention"] == pytest.approx(student["score"] / rows["teacher"]["score"])
    assert set(record["exports"]["onnx-int8"]) >= {"pearson", "change", "size_mb"}
    model = json.loads(next(tmp_path.glob("distill-bilstm-distill-*/model/config.json")).read_text())
    assert model["problem_type"] == "regression" and len(model["id2label"]) == 1  # one number, as transformers saves it
