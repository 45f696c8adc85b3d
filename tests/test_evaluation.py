import numpy as np
import pytest

from pipeline.harness.scoring import bootstrap_interval, load_metric, mean_of, paired_bootstrap, pearson_of
from pipeline.harness.tasks import TASK_TYPES, head_for


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
    kind = TASK_TYPES["single_label"]
    predictions = kind.decide(kind.outputs(np.array([[2, 0], [0, 2], [0, 2], [2, 0]], dtype=float)), 0.5)
    metrics = kind.score(predictions, np.array([0, 1, 0, 0]), ["neg", "pos"],
                         phenomena=["plain", "plain", "negation", "negation"])
    assert metrics["accuracy"] == 0.75
    assert metrics["per_phenomenon"] == {"plain": 1.0, "negation": 0.5}
    assert metrics["per_class"]["neg"]["accuracy"] == pytest.approx(2 / 3)
    assert metrics["per_class"]["pos"]["support"] == 1


def test_bootstrap_interval_brackets_the_accuracy_and_narrows_with_size():
    rng = np.random.default_rng(0)
    small = rng.random(100) < 0.8
    large = rng.random(5000) < 0.8
    lo, hi = bootstrap_interval(mean_of(small.astype(float)), len(small))
    assert lo < small.mean() < hi
    lo2, hi2 = bootstrap_interval(mean_of(large.astype(float)), len(large))
    assert hi2 - lo2 < (hi - lo) / 3
    assert lo2 < 0.8 < hi2


def test_a_predictor_reads_a_joined_sentence_pair_as_the_pair_it_was_trained_on():
    """Predictors take one string per row (joined_texts: 'a ||| b'); a transformer must see the pair it was
    trained on (encode_rows: [CLS] a [SEP] b [SEP] with token types), not one sentence with '|||' in it."""
    import torch

    from pipeline.harness.evaluation import model_predictor
    from pipeline.harness.models import ModelSpec, load_model

    texts = ["the plot was thin", "the plot had little to it", "a gripping film", "it kept me watching"] * 5
    loaded = load_model(ModelSpec(model="bert-tiny", dropout=0.0), head_for(["different", "same"], TASK_TYPES["single_label"]), texts)
    model, tokenizer = loaded.model.eval(), loaded.tokenizer
    predict = model_predictor(model, tokenizer, torch.device("cpu"), 64)
    firsts, seconds = ["the plot was thin", "a gripping film"], ["the plot had little to it", "it kept me watching"]
    with torch.no_grad():
        pairs = model(**tokenizer(firsts, seconds, padding=True, return_tensors="pt")).logits.numpy()
    np.testing.assert_allclose(predict([f"{a} ||| {b}" for a, b in zip(firsts, seconds)]), pairs, atol=1e-5)
    np.testing.assert_allclose(predict(firsts)[:1], model(**tokenizer(firsts[:1], return_tensors="pt")).logits.detach().numpy(),
                               atol=1e-5)


def test_multi_label_scores_label_sets_with_jaccard_f1_and_the_threshold():
    """Sets are decided at the threshold, scored per text (Jaccard: both empty counts as agreement, as E-c's
    official script does) and per decision (micro F1)."""
    kind = TASK_TYPES["multi_label"]
    probabilities = np.array([[0.9, 0.2, 0.6], [0.1, 0.1, 0.1], [0.7, 0.8, 0.1]])
    gold = np.array([[1, 0, 0], [0, 0, 0], [1, 1, 1]])
    predictions = kind.decide(probabilities, 0.5)
    assert predictions.tolist() == [[1, 0, 1], [0, 0, 0], [1, 1, 0]]
    metrics = kind.score(predictions, gold, ["a", "b", "c"])
    assert metrics["jaccard"] == pytest.approx((1 / 2 + 1 + 2 / 3) / 3)
    assert metrics["f1_micro"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))  # 3 right, 1 wrong, 1 missed
    assert metrics["per_class"]["c"] == {"f1": 0.0, "support": 1, "predicted": 1}
    assert kind.decide(probabilities, 0.05).sum() == 9
    assert 0.6 < kind.tune_threshold(probabilities, gold) <= 0.7  # drops the first row's wrong 'c', keeps the rest
    assert kind.parse(kind.format(predictions[0], ["a", "b", "c"]), ["a", "b", "c"]) == [1, 0, 1]


def test_regression_scores_pearson_with_an_interval_and_a_paired_bootstrap_that_tells_models_apart():
    rng = np.random.default_rng(0)
    gold = rng.normal(size=400)
    good, poor = gold + rng.normal(scale=0.3, size=400), gold + rng.normal(scale=1.5, size=400)
    kind = TASK_TYPES["regression"]
    metrics = kind.score(good, gold, ["score"])
    assert metrics["pearson"] == pytest.approx(np.corrcoef(good, gold)[0, 1])
    low, high = metrics["pearson_ci95"]
    assert low < metrics["pearson"] < high and metrics["mse"] == pytest.approx(((good - gold) ** 2).mean())
    test = kind.paired_test(good, poor, gold)
    assert test["test"] == "paired bootstrap" and test["difference"] > 0.3 and test["p_value"] < 0.001
    same = kind.paired_test(good, good + rng.normal(scale=1e-3, size=400), gold)
    assert same["p_value"] > 0.05
    rows = np.arange(400)[None]
    assert pearson_of(good, gold)(rows)[0] == pytest.approx(metrics["pearson"])
    assert paired_bootstrap(mean_of(np.ones(50)), mean_of(np.ones(50)), 50)["p_value"] == 1.0
