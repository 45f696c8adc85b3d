"""Recurrent classifiers over word sequences: the BiLSTM student of Tang et al. 2019 and the RNN step."""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput


def embeddings_from_vectors(tokenizer, vectors) -> tuple[torch.Tensor, float]:
    """An embedding matrix for the tokenizer's vocabulary, Word2Vec vectors where known, small noise elsewhere."""
    vocab = tokenizer.get_vocab()
    weight = torch.randn(len(tokenizer), vectors.vector_size) * 0.1
    found = [(i, w) for w, i in vocab.items() if w in vectors.key_to_index]
    for i, word in found:
        weight[i] = torch.from_numpy(vectors[word].copy())
    return weight, len(found) / max(len(vocab), 1)


class RecurrentClassifier(nn.Module, PyTorchModelHubMixin):
    """Embedding -> (bi)LSTM/GRU -> final states of both directions -> ReLU layer -> classes.

    The forward signature matches a transformers classifier (input_ids, attention_mask, labels),
    so the harness trains, evaluates and distils it unchanged; save_pretrained/from_pretrained come
    from huggingface_hub's mixin.
    """

    def __init__(self, vocab_size: int, num_labels: int, embedding_dim: int = 300, hidden_size: int = 300,
                 num_layers: int = 1, cell: str = "lstm", bidirectional: bool = True, dropout: float = 0.1,
                 pad_token_id: int = 0, id2label: dict | None = None):
        super().__init__()
        self.config = {"model_type": f"{'bi' if bidirectional else ''}{cell}", "num_labels": num_labels,
                       "id2label": id2label or {i: str(i) for i in range(num_labels)}}
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_token_id)
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True,
                       bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0)
        width = hidden_size * (2 if bidirectional else 1)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, width), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(width, num_labels))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **_) -> SequenceClassifierOutput:
        lengths = (attention_mask.sum(-1) if attention_mask is not None
                   else torch.full(input_ids.shape[:1], input_ids.shape[1])).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(input_ids), lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, state = self.rnn(packed)
        final = state[0] if isinstance(state, tuple) else state  # LSTM returns (h, c)
        directions = 2 if self.rnn.bidirectional else 1
        features = torch.cat(list(final[-directions:]), dim=-1)
        logits = self.head(features)
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)
