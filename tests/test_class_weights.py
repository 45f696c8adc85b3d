"""Class weights for imbalanced data (--class_weights): scikit-learn's 'balanced' rule, recorded, in every loss
that learns from labels, and refused in one line where they cannot apply."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.utils.class_weight import compute_class_weight

from conftest import assert_usage_error, run_recipe
from pipeline.harness.data import DataSpec, load_task
from pipeline.harness.tasks import task_type
from pipeline.steps.distillation.losses import SoftTargetLoss


def skewed(folder: Path, *, keep: float = 0.1) -> str:
    """The built-in reviews with positives cut to `keep` of their rows, in train and test alike."""
    task = load_task(DataSpec(max_train_samples=1500, max_eval_samples=600))
    folder.mkdir()
    for split in ("train", "test"):
        rows = task.splits[split]
        positives = [i for i, label in enumerate(rows["label"]) if label == 1]
        kept = set(positives[:round(keep * len(positives))])
        lines = [f"{text}\t{['negative', 'positive'][label]}" for i, (text, label) in
                 enumerate(zip(rows["text"], rows["label"])) if label == 0 or i in kept]
        (folder / f"{split}.tsv").write_text("text\tlabel\n" + "\n".join(lines) + "\n")
    return str(folder)


def test_balanced_weights_are_scikit_learns_rule_and_the_record_keeps_them(tmp_path):
    data = skewed(tmp_path / "data")
    task = load_task(DataSpec(dataset=data, class_weights="balanced"))
    labels = np.asarray(task.splits["train"]["label"])
    assert np.allclose(task.class_weights.values, compute_class_weight("balanced", classes=np.arange(2), y=labels))
    assert task.class_weights.values[1] > 4 * task.class_weights.values[0]  # the rare positives weigh more
    assert task.describe()["class_weights"] == {"rule": "balanced", "weights": dict(zip(task.label_names,
                                                                                        task.class_weights.values))}
    given = load_task(DataSpec(dataset=data, class_weights="positive=3"))
    assert given.class_weights.values == [1.0, 3.0] and not given.class_weights.balanced
    labelled = load_task(DataSpec(task_type="multi_label", class_weights="balanced", max_train_samples=400))
    rows = np.asarray(labelled.splits["train"]["label"])
    positives = rows.sum(0)
    assert np.allclose(labelled.class_weights.values, (len(rows) - positives) / positives, rtol=1e-4)


def test_the_weighted_losses_are_torchs_weighted_cross_entropy():
    """Weights scale each row's term by its class's weight: cross-entropy's `weight`, binary cross-entropy's
    `pos_weight`; distillation's loss on gold labels weighs them the same way."""
    torch.manual_seed(0)
    logits, labels, weights = torch.randn(8, 3), torch.randint(0, 3, (8,)), torch.tensor([1.0, 2.0, 5.0])
    kind = task_type("single_label")
    assert torch.allclose(kind.hard_loss(logits, labels, weights=weights),
                          weights[labels] * F.cross_entropy(logits, labels, reduction="none"))
    multi, targets = task_type("multi_label"), torch.randint(0, 2, (8, 3)).float()
    assert torch.allclose(multi.hard_loss(logits, targets, weights=weights),
                          F.binary_cross_entropy_with_logits(logits, targets, pos_weight=weights, reduction="none")
                          .mean(-1))
    soft = SoftTargetLoss(kind, alpha_kd=0.0, alpha_hard=1.0, class_weights=weights)
    expected = (weights[labels] * F.cross_entropy(logits, labels, reduction="none")).mean()
    assert torch.allclose(soft(logits, logits[:, None], labels, torch.ones(8)), expected)


@pytest.mark.parametrize("recipe,args", [
    ("bow", []),  # scikit-learn's class_weight
    ("bow", ["--features", "fasttext", "--epochs", "2", "--learning_rate", "0.05"]),  # the neural loss (harness loop)
])
def test_balanced_weights_raise_the_rare_class_recall(tmp_path, recipe, args):
    """The same model on the same skewed rows, with and without weights: weighted, it finds more of the rare
    class (its recall, the per-class accuracy the record keeps, rises) and the record says it was weighted."""
    data = skewed(tmp_path / "data")
    recall, out = {}, tmp_path / "out"
    for weights in (None, "balanced"):
        assert run_recipe(recipe, [*args, "--dataset", data, "--output_dir", str(out),
                                   *(["--class_weights", weights] if weights else [])]) == 0
        record = json.loads(max(out.glob("*/results.json"), key=lambda p: p.stat().st_mtime).read_text())
        assert ("class_weights" in record["task"]) == (weights is not None)
        recall[weights] = record["metrics"]["per_class"]["positive"]["accuracy"]
    assert recall["balanced"] > recall[None] + 0.1, recall
    # The board keeps them apart and, the test classes being imbalanced, shows macro F1 beside accuracy.
    assert run_recipe("leaderboard", ["--runs", str(out), "--output_dir", str(tmp_path / "reports")]) == 0
    board = (tmp_path / "reports" / "leaderboard.md").read_text()
    assert "| macro F1 |" in board and "classes weighted (balanced)" in board


@pytest.mark.parametrize("args,message", [
    (["--task_type", "regression", "--class_weights", "balanced"],
     "--class_weights applies to token_classification, multi_label and single_label tasks"),
    (["--class_weights", "postive=2"], "names 'postive', which is not a label here"),
    (["--class_weights", "positive=-1"], "a weight is a positive finite number"),
    (["--class_weights", "heavy"], "give 'balanced' or name=weight pairs"),
    (["--task_type", "multi_label", "--class_weights", "story:praised=2"], "weigh label sets only as 'balanced'"),
])
def test_bad_class_weights_are_refused_before_anything_is_written(tmp_path, capsys, args, message):
    assert_usage_error("bow", args, message, tmp_path / "out", capsys)
