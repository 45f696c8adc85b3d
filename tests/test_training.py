"""Batching for speed must not change what is trained or predicted: every row once, answers in order."""

import numpy as np
import torch
from accelerate import Accelerator
from datasets import Dataset
from transformers import BertConfig, BertForSequenceClassification, DataCollatorWithPadding, PreTrainedTokenizerFast
from tokenizers import Tokenizer, models, pre_tokenizers

from pipeline.harness.evaluation import model_predictor, predict_rows
from pipeline.harness.training import LengthGroupedSampler


def padded_tokens(order: list[int], lengths: np.ndarray, batch_size: int) -> int:
    return sum(lengths[order[i:i + batch_size]].max() * len(order[i:i + batch_size])
               for i in range(0, len(order), batch_size))


def test_length_grouped_batches_hold_every_row_once_with_little_padding():
    lengths = np.random.default_rng(0).integers(2, 60, size=1000)
    sampler = LengthGroupedSampler(lengths, batch_size=32, seed=7)
    epochs = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        order = list(sampler)
        assert sorted(order) == list(range(1000))  # every row once per epoch
        assert order == list(sampler)  # an epoch is drawn again identically (resume)
        epochs.append(order)
    assert epochs[0] != epochs[1] != epochs[2]
    shuffled = list(np.random.default_rng(1).permutation(1000))
    assert padded_tokens(epochs[0], lengths, 32) < 0.7 * padded_tokens(shuffled, lengths, 32)
    # The loader's batches are the sampler's groups: each one sorted, the short one last.
    batches = [epochs[0][i:i + 32] for i in range(0, 1000, 32)]
    assert all(list(lengths[b]) == sorted(lengths[b], reverse=True) for b in batches)
    # Rows of one length: a plain seeded shuffle.
    flat = LengthGroupedSampler(np.zeros(100, dtype=np.int64), batch_size=8, seed=7)
    assert sorted(flat) == list(range(100)) and list(flat) != list(range(100))


def tiny_model_and_tokenizer():
    words = [f"w{i}" for i in range(40)]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["[PAD]", "[UNK]", *words])}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]")
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=64, num_labels=3))
    texts = [" ".join(words[(7 * i + j) % 40] for j in range(1 + (13 * i) % 30)) for i in range(50)]
    return model.eval(), tokenizer, texts


def test_predictions_in_length_order_come_back_in_row_order():
    model, tokenizer, texts = tiny_model_and_tokenizer()
    with torch.no_grad():
        one_by_one = np.concatenate([model(**tokenizer([text], return_tensors="pt")).logits.numpy() for text in texts])
    rows = Dataset.from_dict(dict(tokenizer(texts)))
    logits = predict_rows(model, rows, collate=DataCollatorWithPadding(tokenizer), batch_size=8,
                          accelerator=Accelerator(cpu=True))
    np.testing.assert_allclose(logits, one_by_one, rtol=1e-4, atol=1e-5)
    from_texts = model_predictor(model, tokenizer, torch.device("cpu"), 64, batch_size=8)(texts)
    np.testing.assert_allclose(from_texts, one_by_one, rtol=1e-4, atol=1e-5)
