"""Recurrent models over word sequences: the BiLSTM student of Tang et al. 2019 and the RNN step, and the BiLSTM
tagger (a tag read from each word's states, as Lample et al. 2016 without the CRF)."""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput, TokenClassifierOutput

from ..harness.heads import head_loss, token_loss


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
    from huggingface_hub's mixin. Each direction is its own one-way RNN and the backward one reads
    every sequence reversed within its length: the same result as packed sequences on right-padded
    batches, in operations that export to ONNX.
    """

    def __init__(self, vocab_size: int, num_labels: int, *, embedding_dim: int = 300, hidden_size: int = 300,
                 num_layers: int = 1, cell: str = "lstm", bidirectional: bool = True, dropout: float = 0.1,
                 pad_token_id: int = 0, id2label: dict | None = None,
                 problem_type: str = "single_label_classification"):
        super().__init__()
        self.config = {"model_type": f"{'bi' if bidirectional else ''}{cell}", "num_labels": num_labels,
                       "id2label": id2label or {i: str(i) for i in range(num_labels)}, "problem_type": problem_type}
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_token_id)
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        directions = 2 if bidirectional else 1
        self.layers = nn.ModuleList(
            nn.ModuleList(rnn(embedding_dim if layer == 0 else hidden_size * directions, hidden_size, batch_first=True)
                          for _ in range(directions))
            for layer in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        width = hidden_size * directions
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, width), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(width, num_labels))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **_) -> SequenceClassifierOutput:
        _, finals = self.states(input_ids, attention_mask)
        logits = self.head(torch.cat(finals, dim=-1))
        return SequenceClassifierOutput(loss=head_loss(logits, labels, self.config), logits=logits)

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
