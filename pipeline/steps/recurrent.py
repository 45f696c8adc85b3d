"""Recurrent models over word sequences: the BiLSTM student of Tang et al. 2019 and the RNN step, and the BiLSTM
tagger (a tag read from each word's states, as Lample et al. 2016 without the CRF)."""

from __future__ import annotations

import torch
from torch import nn
from transformers import (AutoConfig, AutoModelForSequenceClassification, AutoModelForTokenClassification,
                          PretrainedConfig)
from transformers.modeling_outputs import SequenceClassifierOutput, TokenClassifierOutput

from ..harness.heads import head_loss, token_loss
from ..harness.models import TorchInitModel


def embeddings_from_vectors(tokenizer, vectors) -> tuple[torch.Tensor, float]:
    """An embedding matrix for the tokenizer's vocabulary, Word2Vec vectors where known, small noise elsewhere."""
    vocab = tokenizer.get_vocab()
    weight = torch.randn(len(tokenizer), vectors.vector_size) * 0.1
    found = [(i, w) for w, i in vocab.items() if w in vectors.key_to_index]
    for i, word in found:
        weight[i] = torch.from_numpy(vectors[word].copy())
    return weight, len(found) / max(len(vocab), 1)


class RecurrentConfig(PretrainedConfig):
    """The recurrent network's sizes; the task's head (num_labels, id2label, problem_type) as any transformers config."""

    model_type = "nlp-road-rnn"

    def __init__(self, *, vocab_size: int = 20_000, embedding_dim: int = 300, hidden_size: int = 300,
                 num_layers: int = 1, cell: str = "lstm", bidirectional: bool = True, dropout: float = 0.1,
                 pair_features: bool = False, pad_token_id: int = 0, **kwargs):
        self.vocab_size, self.embedding_dim, self.hidden_size = vocab_size, embedding_dim, hidden_size
        self.num_layers, self.cell, self.bidirectional, self.dropout = num_layers, cell, bidirectional, dropout
        self.pair_features = pair_features  # sentence pairs: each read alone, compared (RecurrentClassifier.compare)
        super().__init__(pad_token_id=pad_token_id, **kwargs)


class RecurrentClassifier(TorchInitModel):
    """Embedding -> (bi)LSTM/GRU -> final states of both directions -> ReLU layer -> classes.

    A transformers model (its config registered with the Auto classes when `pipeline` is imported), so
    the harness trains, evaluates and distils it as any classifier, and `AutoModelForSequenceClassification`
    or `transformers.pipeline` load a saved run. Each direction is its own one-way RNN and the backward one
    reads every sequence reversed within its length: the same result as packed sequences on right-padded
    batches, in operations that export to ONNX.

    With `pair_features` (sentence pairs) the network reads each sentence of a pair on its own and the head
    compares them (`compare`), as Tang et al. 2019 and InferSent do: one network reading both sentences as one
    sequence must learn from a few thousand pairs to match words across a boundary it cannot see.
    """

    config_class = RecurrentConfig
    base_model_prefix = "rnn"

    def __init__(self, config: RecurrentConfig):
        super().__init__(config)
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id)
        rnn = nn.LSTM if config.cell == "lstm" else nn.GRU
        directions = 2 if config.bidirectional else 1
        self.layers = nn.ModuleList(
            nn.ModuleList(rnn(config.embedding_dim if layer == 0 else config.hidden_size * directions,
                              config.hidden_size, batch_first=True) for _ in range(directions))
            for layer in range(config.num_layers))
        self.dropout = nn.Dropout(config.dropout)
        width = config.hidden_size * directions
        features = 4 * width if config.pair_features else width
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(features, width), nn.ReLU(),
                                  nn.Dropout(config.dropout), nn.Linear(width, config.num_labels))
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                **_) -> SequenceClassifierOutput:
        if self.config.pair_features:
            features = self.compare(input_ids, attention_mask, token_type_ids)
        else:
            features = torch.cat(self.states(input_ids, attention_mask)[1], dim=-1)
        logits = self.head(features)
        return SequenceClassifierOutput(loss=head_loss(logits, labels, self.config), logits=logits)

    def compare(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None,
                token_type_ids: torch.Tensor | None) -> torch.Tensor:
        """A pair's features [u, v, |u - v|, u * v]: u and v each sentence's states max-pooled (InferSent), both
        sentences read by the same network. The tokenizer gives the first sentence type 0 and the second type 1,
        one after the other; the second is moved to the front of a row of its own, so each is read alone."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        real = attention_mask.bool()
        first, second = real & (token_type_ids == 0), real & (token_type_ids == 1)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        moved = (positions + first.sum(-1, keepdim=True)).clamp(max=input_ids.shape[1] - 1)
        second = second.gather(1, moved) & (positions < second.sum(-1, keepdim=True))
        masks = torch.cat([first, second])
        hidden, _ = self.states(torch.cat([input_ids, input_ids.gather(1, moved)]), masks.long())
        pooled = hidden.masked_fill(~masks.unsqueeze(-1), torch.finfo(hidden.dtype).min).amax(1)
        pooled = torch.where(masks.any(1, keepdim=True), pooled, torch.zeros_like(pooled))  # an empty sentence: 0
        u, v = pooled.chunk(2)
        return torch.cat([u, v, (u - v).abs(), u * v], dim=-1)

    def states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> tuple[torch.Tensor, list]:
        """Every position's states of the last layer (both directions), and each direction's final state."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        lengths = attention_mask.sum(-1).clamp(min=1)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        # Position t of the reversed sequence reads token length-1-t; padding stays where it is.
        reverse = torch.where(positions < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - positions, positions)
        last = (lengths - 1).view(-1, 1, 1)
        hidden = self.embedding(input_ids)
        for index, directions in enumerate(self.layers):
            if index:
                hidden = self.dropout(hidden)
            outputs, finals = [], []
            for direction, rnn in enumerate(directions):
                inputs = hidden if direction == 0 else _reorder(hidden, reverse)
                output, _ = rnn(inputs)
                finals.append(output.gather(1, last.expand(-1, 1, output.shape[-1])).squeeze(1))
                outputs.append(output if direction == 0 else _reorder(output, reverse))
            hidden = torch.cat(outputs, dim=-1)
        return hidden, finals


class RecurrentTagger(RecurrentClassifier):
    """The same network reading a tag from every position's states: a word's tag from both sides of it.
    Labels of -100 (pieces after a word's first, padding) are left out of the loss."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **_) -> TokenClassifierOutput:
        hidden, _ = self.states(input_ids, attention_mask)
        logits = self.head(hidden)
        return TokenClassifierOutput(loss=token_loss(logits, labels), logits=logits)


def _reorder(sequence: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return sequence.gather(1, index.unsqueeze(-1).expand(-1, -1, sequence.shape[-1]))


AutoConfig.register(RecurrentConfig.model_type, RecurrentConfig)
AutoModelForSequenceClassification.register(RecurrentConfig, RecurrentClassifier)
AutoModelForTokenClassification.register(RecurrentConfig, RecurrentTagger)
