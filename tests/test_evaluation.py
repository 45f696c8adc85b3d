import numpy as np
import pytest

from pipeline.harness.evaluation import bootstrap_interval, load_metric, score


def test_shipped_metric_modules_load_offline_and_agree_with_hand_values(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    predictions, references = [0, 1, 1, 0, 1], [0, 1, 0, 0, 0]
    assert load_metric("accuracy").compute(predictions=predictions, references=references)["accuracy"] == 0.6
    f1 = load_metric("f1").compute(predictions=predictions, references=references, average="macro")["f1"]
    # class 0: precision 1, recall 2/4 -> 2/3; class 1: precision 1/3, recall 1 -> 1/2
    assert f1 == pytest.approx((2 / 3 + 1 / 2) / 2)
    mcc = load_metric("matthews_correlation").compute(predictions=predictions, references=references)
    assert mcc["matthews_correlation"] == pytest.approx((1 * 2 - 2 * 0) / np.sqrt(3 * 1 * 4 * 2))


def test_score_breaks_down_by_class_and_phenomenon():
    logits = np.array([[2, 0], [0, 2], [0, 2], [2, 0]], dtype=float)
    metrics = score(logits, [0, 1, 0, 0], ["neg", "pos"], phenomena=["plain", "plain", "negation", "negation"])
    assert metrics["accuracy"] == 0.75
    assert metrics["per_phenomenon"] == {"plain": 1.0, "negation": 0.5}
    assert metrics["per_class"]["neg"]["accuracy"] == pytest.approx(2 / 3)
    assert metrics["per_class"]["pos"]["support"] == 1


def test_bootstrap_interval_brackets_the_accuracy_and_narrows_with_size():
    rng = np.random.default_rng(0)
    small = rng.random(100) < 0.8
    large = rng.random(5000) < 0.8
    lo, hi = bootstrap_interval(small)
    assert lo < small.mean() < hi
    lo2, hi2 = bootstrap_interval(large)
    assert hi2 - lo2 < (hi - lo) / 3
    assert lo2 < 0.8 < hi2
