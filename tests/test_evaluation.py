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


def test_a_predictor_reads_a_joined_sentence_pair_as_the_pair_it_was_trained_on():
    """Predictors take one string per row (joined_texts: 'a ||| b'); a transformer must see the pair it was
    trained on (encode_rows: [CLS] a [SEP] b [SEP] with token types), not one sentence with '|||' in it."""
    import torch

    from pipeline.harness.evaluation import model_predictor
    from pipeline.harness.models import ModelSpec, load_model

    texts = ["the plot was thin", "the plot had little to it", "a gripping film", "it kept me watching"] * 5
    loaded = load_model(ModelSpec(model="bert-tiny", dropout=0.0), ["different", "same"], texts)
    model, tokenizer = loaded.model.eval(), loaded.tokenizer
    predict = model_predictor(model, tokenizer, torch.device("cpu"), 64)
    firsts, seconds = ["the plot was thin", "a gripping film"], ["the plot had little to it", "it kept me watching"]
    with torch.no_grad():
        pairs = model(**tokenizer(firsts, seconds, padding=True, return_tensors="pt")).logits.numpy()
    np.testing.assert_allclose(predict([f"{a} ||| {b}" for a, b in zip(firsts, seconds)]), pairs, atol=1e-5)
    np.testing.assert_allclose(predict(firsts)[:1], model(**tokenizer(firsts[:1], return_tensors="pt")).logits.detach().numpy(),
                               atol=1e-5)
