"""The fine-tune guard: every task type's trivial guess, and a distillation that stops on a teacher that did not
beat it (labels shuffled) and goes on from one that did (labels a keyword decides)."""

import json
import random
from pathlib import Path

import numpy as np
import pytest

from conftest import run_recipe
from pipeline.harness.data import DataSpec, load_task
from pipeline.harness.models import ModelSpec
from pipeline.harness.runs import RunOptions
from pipeline.harness.tasks import TASK_TYPES
from pipeline.harness.training import TrainConfig, make_accelerator
from pipeline.steps.distillation import DistillConfig, Distiller
from pipeline.steps.distillation.teachers import TEACHER_DEFAULTS

FILLER = "the a one it was and then so we saw there".split()
PLACES = ["paris", "rome", "oslo", "lima"]


def _row(kind: str, rng: random.Random) -> dict:
    """One row whose label a keyword decides."""
    words = rng.sample(FILLER, 5)
    if kind == "single_label":
        word = rng.choice(["good", "bad"])
        return {"text": " ".join(words + [word]), "label": "positive" if word == "good" else "negative"}
    if kind == "multi_label":
        labels = [name for name in ("apple", "berry") if rng.random() < 0.5]
        return {"text": " ".join(words + labels), "labels": labels}
    if kind == "regression":
        count = rng.randint(0, 3)
        return {"text": " ".join(words + ["very"] * count + ["big"]), "label": float(count)}
    place = rng.randint(0, len(words))
    tokens = words[:place] + [rng.choice(PLACES)] + words[place:]
    return {"tokens": tokens, "ner_tags": ["B-LOC" if word in PLACES else "O" for word in tokens]}


def keyword_data(folder: Path, kind: str, *, shuffled: bool) -> str:
    """train/validation/test files of `kind` (300/100/100 rows); `shuffled`: the training and validation labels
    moved to other rows, so no model can learn them."""
    rng = random.Random(0)
    folder.mkdir()
    label = {"multi_label": "labels", "token_classification": "ner_tags"}.get(kind, "label")
    for split, size in (("train", 300), ("validation", 100), ("test", 100)):
        rows = [_row(kind, rng) for _ in range(size)]
        if shuffled and split != "test":
            if kind == "token_classification":  # each sentence's tags on the words of another of its length
                for row in rows:
                    rng.shuffle(row[label])
            else:
                labels = [row[label] for row in rows]
                rng.shuffle(labels)
                rows = [{**row, label: value} for row, value in zip(rows, labels)]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(folder)


def test_every_task_type_has_a_trivial_guess_from_the_training_labels_alone():
    single, multi, regression, tags = (TASK_TYPES[name] for name in (
        "single_label", "multi_label", "regression", "token_classification"))
    name, guess = single.trivial([0, 1, 1, 2], np.zeros(3))
    assert "most frequent class" in name and guess.tolist() == [1, 1, 1]
    train = [[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 0, 1]]  # 'a' alone is the most frequent set and the prior's best
    _, guess = multi.trivial(train, np.zeros((2, 3)))
    assert guess.tolist() == [[1, 0, 0], [1, 0, 0]]
    _, guess = regression.trivial([1.0, 2.0, 6.0], np.zeros(2))
    assert guess.tolist() == [3.0, 3.0]
    _, guess = tags.trivial([[0, 1]], np.array([[3, 0, -1], [1, -1, -1]]))
    assert guess.tolist() == [[0, 0, -1], [0, -1, -1]]  # every word 'O', nothing past a sentence's end
    assert set(TEACHER_DEFAULTS) == set(TASK_TYPES)  # every type says how its teacher is fine-tuned


TEACHER = ["--teacher", "bert-tiny", "--teacher_epochs", "6", "--teacher_learning_rate", "1e-3"]


@pytest.mark.parametrize("kind", list(TASK_TYPES))
def test_the_guard_stops_a_teacher_that_did_not_learn_and_passes_one_that_did(kind, tmp_path, capsys):
    shuffled = keyword_data(tmp_path / "shuffled", kind, shuffled=True)
    out = tmp_path / "out"
    assert run_recipe("distill", ["--dataset", shuffled, *TEACHER, "--output_dir", str(out)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]  # after progress
    assert len(errors) == 1 and errors[0].startswith("error: the teacher did not beat the trivial guess: validation ")
    assert errors[0].endswith("--no_teacher_guard distils it anyway")
    teacher = json.loads(next(out.glob("finetune-*/results.json")).read_text())  # the teacher's run is kept
    assert teacher["trivial"]["validation"]["learned"] is False
    assert not list(out.glob("distill-*"))  # nothing was distilled from it

    learnable = keyword_data(tmp_path / "learnable", kind, shuffled=False)
    data = DataSpec(dataset=learnable)
    train = TrainConfig()
    settings = DistillConfig(teacher=["bert-tiny"], teacher_epochs=6, teacher_learning_rate=1e-3)
    distiller = Distiller(load_task(data, tags_words=True), data_spec=data, model_spec=ModelSpec(), train_config=train,
                          settings=settings, options=RunOptions(output_dir=str(tmp_path / "learned")),
                          accelerator=make_accelerator(train), config={})
    distiller.obtain_teachers()
    check = distiller.teacher_guard["validation"]
    assert check["learned"] and check["p_value"] < 0.01 and check["score"] > check["guess"]
    assert "teacher beat the trivial guess: validation" in capsys.readouterr().out
