"""fastText (Joulin et al. 2017) as a transformers model: word and hashed-bigram embeddings, averaged, one linear layer."""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, PretrainedConfig
from transformers.modeling_outputs import SequenceClassifierOutput

from ..harness.heads import head_loss
from ..harness.models import TorchInitModel


class FastTextConfig(PretrainedConfig):
    """Vocabulary, bigram hash buckets and embedding width; the task's head as any transformers config."""

    model_type = "nlp-road-fasttext"

    def __init__(self, *, vocab_size: int = 50_000, embedding_dim: int = 64, buckets: int = 20_000, **kwargs):
        self.vocab_size, self.embedding_dim, self.buckets = vocab_size, embedding_dim, buckets
        super().__init__(**kwargs)


class FastTextClassifier(TorchInitModel):
    """Takes the same input_ids/attention_mask as every model of the harness; bigram ids are hashed from
    consecutive word ids inside forward, so any word-level tokenizer feeds it, and `transformers.pipeline`
    serves a saved run once `pipeline` is imported (which registers the config)."""

    config_class = FastTextConfig
    base_model_prefix = "fasttext"

    def __init__(self, config: FastTextConfig):
        super().__init__(config)
        self.embedding = nn.EmbeddingBag(config.vocab_size + config.buckets, config.embedding_dim, mode="sum")
        self.output = nn.Linear(config.embedding_dim, config.num_labels)
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **_) -> SequenceClassifierOutput:
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        bigrams = self.config.vocab_size + (input_ids[:, :-1] * 1_000_003 + input_ids[:, 1:]) % self.config.buckets
        ids = torch.cat([input_ids, bigrams], dim=1)
        weights = torch.cat([mask, mask[:, :-1] * mask[:, 1:]], dim=1).float()
        summed = self.embedding(ids, per_sample_weights=weights)
        logits = self.output(summed / weights.sum(1, keepdim=True).clamp(min=1.0))
        return SequenceClassifierOutput(loss=head_loss(logits, labels, self.config), logits=logits)


AutoConfig.register(FastTextConfig.model_type, FastTextConfig)
AutoModelForSequenceClassification.register(FastTextConfig, FastTextClassifier)
