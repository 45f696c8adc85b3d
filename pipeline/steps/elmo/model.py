"""A classifier over a frozen model's layers: scalar mix, then a BiLSTM with max pooling (the ELMo step).

The frozen model stays inside, so a saved run classifies raw text on its own; training can skip it
and read the layers from the disk cache instead (pipeline/elmo/features.py), since they never change.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import (AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoModelForTokenClassification,
                          PretrainedConfig, PreTrainedModel)
from transformers.modeling_outputs import SequenceClassifierOutput, TokenClassifierOutput

from ...harness.heads import head_loss, token_loss
from ...harness.models import describe_model
from ...harness.tasks import task_type
from ..pretraining.bilm import BiLMConfig, BiLMTokenizer
from .mix import ScalarMix


def stacked_layers(encoder: PreTrainedModel, inputs: dict) -> torch.Tensor:
    """(batch, tokens, layers, width): every layer of a frozen model, the input embeddings first."""
    with torch.no_grad():
        states = encoder(**inputs, output_hidden_states=True).hidden_states
    return torch.stack(states, dim=2)


class ELMoConfig(PretrainedConfig):
    """The frozen encoder's config (`config.to_dict()`: a biLM or any transformers model), the mix and the BiLSTM;
    the task's head as any transformers config.

    Args:
        mix: ``learned``, ``uniform`` or ``top`` (see ScalarMix).
        layer_norm: normalise each layer before mixing.
        hidden_size: BiLSTM state width per direction.
        dropout: on the mixed representation and before the classifier.
    """

    model_type = "nlp-road-elmo"

    def __init__(self, *, encoder_config: dict | None = None, mix: str = "learned", layer_norm: bool = False,
                 hidden_size: int = 128, dropout: float = 0.5, **kwargs):
        self.encoder_config, self.mix, self.layer_norm = encoder_config or {}, mix, layer_norm
        self.hidden_size, self.dropout = hidden_size, dropout
        super().__init__(**kwargs)


class ELMoClassifier(PreTrainedModel):
    """Frozen encoder -> ScalarMix -> dropout -> BiLSTM -> max over tokens -> ReLU layer -> classes.

    forward takes either `features` (cached layers, (batch, tokens, layers, width)) or the encoder's
    own inputs (input_ids, attention_mask, and char_ids for the biLM or token_type_ids for BERT), so
    `transformers.pipeline` serves a saved run from raw text (the biLM's tokenizer adds the characters).
    """

    config_class = ELMoConfig
    base_model_prefix = "elmo"
    main_input_name = "input_ids"

    def __init__(self, config: ELMoConfig):
        super().__init__(config)
        encoder = dict(config.encoder_config)
        self.encoder = AutoModel.from_config(AutoConfig.for_model(encoder.pop("model_type"), **encoder))
        self.encoder.requires_grad_(False)
        layers, width = self.encoder_layers()
        self.mix = ScalarMix(layers, mode=config.mix, layer_norm=config.layer_norm)
        self.dropout = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(width, config.hidden_size, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Linear(2 * config.hidden_size, config.hidden_size), nn.ReLU(),
                                  nn.Dropout(config.dropout), nn.Linear(config.hidden_size, config.num_labels))
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if module in (self.lstm, *self.head) and hasattr(module, "reset_parameters"):
            module.reset_parameters()

    def encoder_layers(self) -> tuple[int, int]:
        """How many layers the encoder gives, and their width."""
        config = self.encoder.config
        if isinstance(config, BiLMConfig):
            return config.n_layers + 1, 2 * config.projection_dim
        return config.num_hidden_layers + 1, config.hidden_size

    def text_inputs(self, tokenizer):
        """What turns texts into this model's inputs: over the biLM, its tokenizer that also gives each word's
        characters (runs saved before BiLMTokenizer hold the plain word tokenizer)."""
        if isinstance(self.encoder.config, BiLMConfig) and not isinstance(tokenizer, BiLMTokenizer):
            return BiLMTokenizer.of(tokenizer, self.encoder.config.max_characters_per_token)
        return tokenizer

    def train(self, mode: bool = True) -> "ELMoClassifier":
        super().train(mode)
        self.encoder.eval()  # frozen: its dropout stays off
        return self

    def forward(self, features: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **inputs) -> SequenceClassifierOutput:
        output, attention_mask, _ = self.states(features, attention_mask, inputs)
        real = attention_mask.bool().unsqueeze(-1)
        pooled = output.masked_fill(~real, torch.finfo(output.dtype).min).max(dim=1).values
        logits = self.head(self.dropout(pooled))
        return SequenceClassifierOutput(loss=head_loss(logits, labels, self.config), logits=logits)

    def states(self, features: torch.Tensor | None, attention_mask: torch.Tensor | None,
               inputs: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The BiLSTM's states over the mixed layers, real tokens first, their mask, and the order that put them
        first (None when the layers came from the cache, which keeps real tokens only)."""
        order = None
        if features is None:
            features = stacked_layers(self.encoder, {**inputs, "attention_mask": attention_mask})
            if attention_mask is not None:  # real tokens first, whichever side the encoder pads
                order = torch.sort((attention_mask == 0).int(), dim=1, stable=True).indices
                features = features.gather(1, order[:, :, None, None].expand_as(features))
                attention_mask = attention_mask.gather(1, order)
        if attention_mask is None:
            attention_mask = torch.ones(features.shape[:2], dtype=torch.long, device=features.device)
        mixed = self.dropout(self.mix(features.to(self.mix.gamma.dtype)))
        lengths = attention_mask.sum(-1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(mixed, lengths, batch_first=True, enforce_sorted=False)
        output, _ = self.lstm(packed)
        output, _ = nn.utils.rnn.pad_packed_sequence(output, batch_first=True, total_length=mixed.shape[1])
        return output, attention_mask, order


class ELMoTagger(ELMoClassifier):
    """The same mix and BiLSTM reading a tag from every token's states: the setup of the ELMo paper's NER result
    (Peters et al. 2018, sec. 5; without its CRF). Labels of -100 (pieces after a word's first, special tokens,
    padding) are left out of the loss."""

    def forward(self, features: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **inputs) -> TokenClassifierOutput:
        output, _, order = self.states(features, attention_mask, inputs)
        logits = self.head(self.dropout(output))
        if order is not None:  # back to the tokens' own places, where labels and word starts are
            logits = torch.empty_like(logits).scatter_(1, order[:, :, None].expand_as(logits), logits)
        return TokenClassifierOutput(loss=token_loss(logits, labels), logits=logits)


def build_classifier(encoder, *, mix: str, layer_norm: bool, hidden_size: int, dropout: float,
                     head: dict) -> tuple[ELMoClassifier, dict]:
    """The classifier (a tagger, for a task that tags words) around a loaded frozen encoder with the task's head
    (`Task.head()`), and its model info
    (frozen and trained parameters apart)."""
    network = ELMoTagger if task_type(head["task_type"]).reads_words else ELMoClassifier
    model = network(ELMoConfig(encoder_config=encoder.model.config.to_dict(), mix=mix, layer_norm=layer_norm,
                               hidden_size=hidden_size, dropout=dropout, **head))
    model.encoder.load_state_dict(encoder.model.state_dict())
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    info = describe_model(model, name=f"{encoder.info['encoder']}, {mix} mix", family="elmo",
                          trained_parameters=trained, **encoder.info)
    info["frozen_parameters"] = info["parameters"] - trained
    return model, info


def layer_names(model: ELMoClassifier) -> list[str]:
    count = model.mix.logits.numel()
    if isinstance(model.encoder.config, BiLMConfig):
        first = "tokens (char CNN)" if model.encoder.config.token_representation == "char" else "tokens (words)"
        return [first, *(f"LSTM {i}" for i in range(1, count))]
    return ["embeddings", *(f"layer {i}" for i in range(1, count))]


def mix_summary(model: ELMoClassifier) -> dict:
    """What the task learned about the layers: s_j and gamma, for the run record and its plot."""
    return {"mode": model.mix.mode, "layers": layer_names(model),
            "weights": [round(float(w), 6) for w in model.mix.weights().detach()], "gamma": model.mix.gamma.item()}


AutoConfig.register(ELMoConfig.model_type, ELMoConfig)
AutoModelForSequenceClassification.register(ELMoConfig, ELMoClassifier)
AutoModelForTokenClassification.register(ELMoConfig, ELMoTagger)
