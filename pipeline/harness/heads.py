"""Classifier read-outs beside each family's own: which token states a label is read from.

BERT's classifier reads one position, [CLS], through its pooler. A masked LM without BERT's
next-sentence task (the one pretrained here) never trains that position, and fine-tuning cannot
make it carry the sentence: the pretrained model stays at chance where the same model from scratch
learns the task (README, "Why BERT's [CLS] fails after the masked LM"). The mean of the token
states, padding left out, reads what the masked LM did learn; it is sentence-transformers' read-out
(all-MiniLM-L6-v2 was trained with it) and ModernBERT's `classifier_pooling="mean"`. The choice travels in config.json as
`classifier_pooling`, so a saved model comes back with the read-out it was trained with.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn
from transformers import (AutoConfig, AutoModelForSequenceClassification, BertModel, BertPreTrainedModel,
                          PretrainedConfig, PreTrainedModel)
from transformers.loss.loss_utils import ForSequenceClassificationLoss
from transformers.modeling_outputs import SequenceClassifierOutput

from .errors import UsageError
from .tasks import task_type

FAMILY = "family"  # the family's own read-out: BERT's [CLS], the last token for GPT-2 and XLNet


def head_loss(logits: torch.Tensor, labels: torch.Tensor | None, config) -> torch.Tensor | None:
    """The loss transformers' own heads use for `config.problem_type` (cross-entropy, binary cross-entropy,
    mean squared error), for the heads this project defines; `config` may be a plain dict."""
    if labels is None:
        return None
    if isinstance(config, dict):
        config = SimpleNamespace(num_labels=config["num_labels"],
                                 problem_type=config.get("problem_type", "single_label_classification"))
    return ForSequenceClassificationLoss(labels, logits, config)


def token_loss(logits: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor | None:
    """Cross-entropy over the tagged tokens of the taggers this project defines: labels of -100 (pieces after a
    word's first, special tokens, padding) are left out; summed and divided by their count, so a batch with none
    gives 0, not NaN."""
    if labels is None:
        return None
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=-100,
                                             reduction="sum") / (labels != -100).sum().clamp(min=1)


def masked_mean(states: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """The mean over each sequence's real tokens: padding, on either side, changes nothing."""
    if attention_mask is None:
        return states.mean(1)
    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    return (states * mask).sum(1) / mask.sum(1).clamp(min=1)


class BertForSequenceClassificationMeanPooled(BertPreTrainedModel):
    """BERT with a linear classifier on the mean of its last layer's token states (no pooler)."""

    def __init__(self, config: PretrainedConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                **kwargs) -> SequenceClassifierOutput:
        outputs = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                            return_dict=True, **kwargs)
        logits = self.classifier(self.dropout(masked_mean(outputs.last_hidden_state, attention_mask)))
        return SequenceClassifierOutput(loss=head_loss(logits, labels, self.config), logits=logits,
                                        hidden_states=outputs.hidden_states,
                                        attentions=outputs.attentions)


# (model type, config.classifier_pooling) -> the classifier class; anything else is the family's own
# head, through transformers' Auto class. Adding a read-out for a family is one entry here.
READOUTS: dict[tuple[str, str], type] = {("bert", "mean"): BertForSequenceClassificationMeanPooled}
POOLINGS = (FAMILY, *sorted({pooling for _, pooling in READOUTS}))


def readout(config: PretrainedConfig) -> str:
    """The read-out a model's config asks for: FAMILY unless it names one READOUTS has for its family."""
    pooling = getattr(config, "classifier_pooling", None)
    return pooling if (config.model_type, pooling) in READOUTS else FAMILY


def classifier_class(config: PretrainedConfig):
    """The class that builds or loads the head of the config's task type (a sequence classifier with the read-out
    `config` asks for; a token classifier)."""
    head = task_type(getattr(config, "task_type", None)).auto_model
    if head is not AutoModelForSequenceClassification:
        return head
    return READOUTS.get((config.model_type, readout(config)), AutoModelForSequenceClassification)


def offered(family: str) -> list[str]:
    """The read-outs a family can be given."""
    return [FAMILY, *(pooling for kind, pooling in READOUTS if kind == family)]


def set_readout(config: PretrainedConfig, pooling: str | None, name: str) -> None:
    """Give `config` the read-out `pooling` names (heads.READOUTS); None keeps the one it was saved with."""
    if pooling is None:
        return
    if task_type(getattr(config, "task_type", None)).reads_words:
        raise UsageError(f"--pooling picks how a text classifier reads one vector from '{name}'; a "
                         f"{config.task_type} model reads every word, so leave it out")
    if pooling not in offered(config.model_type):
        raise UsageError(f"--pooling {pooling} is not offered for '{name}' (a {config.model_type} model); "
                         f"it takes {', '.join(offered(config.model_type))}")
    if pooling != FAMILY:
        config.classifier_pooling = pooling
    elif readout(config) != FAMILY:
        del config.classifier_pooling


def new_classifier(config: PretrainedConfig) -> PreTrainedModel:
    """A freshly initialised classifier with the read-out `config` asks for."""
    model_class = classifier_class(config)
    return model_class.from_config(config) if hasattr(model_class, "from_config") else model_class(config)


def load_classifier(name: str | Path, config: PretrainedConfig | None = None, **options) -> PreTrainedModel:
    """A saved classifier (or a pretrained body under a new head) with the read-out its config asks for."""
    config = config or AutoConfig.from_pretrained(str(name), **options)
    return classifier_class(config).from_pretrained(str(name), config=config, **options)
