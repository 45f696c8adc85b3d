import time

import pytest
import torch

from pipeline.harness.tasks import TASK_TYPES, head_for
from pipeline.harness.errors import UsageError
from pipeline.harness.models import CACHE, PRESETS, ModelSpec, load_model

TEXTS = ["the plot was not bad .", "the acting was dull , but the score was superb .", "a gripping film ."] * 20
LABELS = head_for(["negative", "positive"], TASK_TYPES["single_label"])


@pytest.mark.parametrize("preset", [name for name, p in PRESETS.items() if p.config])
def test_scratch_presets_build_with_their_own_tokenizer(preset):
    loaded = load_model(ModelSpec(model=preset), LABELS, TEXTS)
    batch = loaded.tokenizer(TEXTS[:2], padding=True, return_tensors="pt")
    logits = loaded.model(**batch).logits
    assert logits.shape == (2, 2)
    assert loaded.model.config.id2label == {0: "negative", 1: "positive"}
    assert loaded.info["family"] == loaded.model.config.model_type
    ids = loaded.tokenizer(TEXTS[1])["input_ids"]
    decoded = loaded.tokenizer.decode(ids, skip_special_tokens=True)
    assert decoded.replace(" ", "") == TEXTS[1].replace(" ", "")


def test_trained_tokenizer_is_cached():
    load_model(ModelSpec(model="bert-tiny", vocab_size=500), LABELS, TEXTS)
    cached = sorted(CACHE.glob("tokenizers/bert-tiny-*"), key=lambda p: p.stat().st_mtime)
    before = cached[-1].stat().st_mtime
    load_model(ModelSpec(model="bert-tiny", vocab_size=500), LABELS, TEXTS)
    assert cached[-1].stat().st_mtime == before


def test_minilm_preset_loads_pretrained_weights():
    loaded = load_model(ModelSpec(model="minilm"), LABELS)
    assert loaded.info["parameters"] == 22_713_986
    assert loaded.tokenizer.tokenize("unpredictable") == ["unpredictable"]
    # pretrained, not random: the word embedding of "good" is closer to "great" than to "table"
    emb = loaded.model.bert.embeddings.word_embeddings.weight
    ids = loaded.tokenizer.convert_tokens_to_ids(["good", "great", "table"])
    cos = torch.nn.functional.cosine_similarity
    assert cos(emb[ids[0]], emb[ids[1]], dim=0) > cos(emb[ids[0]], emb[ids[2]], dim=0)


def test_dropout_override():
    loaded = load_model(ModelSpec(model="minilm", dropout=0.0), LABELS)
    assert loaded.model.config.hidden_dropout_prob == 0.0
    assert loaded.model.config.attention_probs_dropout_prob == 0.0


def test_local_directory_round_trip(tmp_path):
    first = load_model(ModelSpec(model="bert-tiny"), LABELS, TEXTS)
    first.model.save_pretrained(tmp_path)
    first.tokenizer.save_pretrained(tmp_path)
    again = load_model(ModelSpec(model=str(tmp_path)), LABELS)
    assert again.info["kind"] == "local"
    for a, b in zip(first.model.parameters(), again.model.parameters()):
        assert torch.equal(a, b)


def test_a_mean_read_out_is_saved_with_the_model_and_comes_back_with_it(tmp_path):
    """--pooling mean gives a BERT a head on its mean token state; the folder it saves loads with that head,
    and asking for the family's head gets BERT's [CLS] classifier over the same body."""
    first = load_model(ModelSpec(model="bert-tiny", pooling="mean", dropout=0.0), LABELS, TEXTS)
    assert type(first.model).__name__ == "BertForSequenceClassificationMeanPooled"
    assert first.info["pooling"] == "mean" and first.model.bert.pooler is None
    first.model.save_pretrained(tmp_path)
    first.tokenizer.save_pretrained(tmp_path)
    again = load_model(ModelSpec(model=str(tmp_path), dropout=0.0), LABELS)
    assert type(again.model) is type(first.model) and again.info["pooling"] == "mean"
    batch = first.tokenizer(TEXTS[:3], padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(again.model.eval()(**batch).logits, first.model.eval()(**batch).logits)
    family = load_model(ModelSpec(model=str(tmp_path), pooling="family"), LABELS)
    assert type(family.model).__name__ == "BertForSequenceClassification" and "pooling" not in family.info
    assert torch.equal(family.model.bert.embeddings.word_embeddings.weight,
                       first.model.bert.embeddings.word_embeddings.weight)


def test_a_read_out_a_family_does_not_offer_is_refused():
    with pytest.raises(UsageError, match="--pooling mean is not offered for 'gpt2-tiny'"):
        load_model(ModelSpec(model="gpt2-tiny", pooling="mean"), LABELS, TEXTS)
    with pytest.raises(UsageError, match="choose family, mean"):
        ModelSpec(pooling="max")


def test_unknown_model_without_network_fails_fast(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.time()
    with pytest.raises(UsageError, match="use a local path or a preset"):
        load_model(ModelSpec(model="bert-base-uncased"), LABELS)
    assert time.time() - start < 10


def test_missing_local_directory(tmp_path):
    with pytest.raises(UsageError, match="holds no config.json"):
        load_model(ModelSpec(model=str(tmp_path / "nothing")), LABELS)
