"""ELMo's scalar mix (Peters et al. 2018, eq. 1): ELMo_k = gamma * sum_j s_j h_k,j with s = softmax(w)."""

from __future__ import annotations

import torch
from torch import nn

MIXES = ("learned", "uniform", "top")


class ScalarMix(nn.Module):
    """A task's view of a frozen model: one weight per layer and a scale, the only parameters it learns there.

    Args:
        num_layers: how many layers the frozen model gives (ELMo's biLM: the token layer and two LSTM layers).
        mode: ``learned`` trains the layer weights (softmax-normalised); ``uniform`` keeps them equal and
            ``top`` puts all weight on the last layer, the two ablations of the ELMo paper. The scale
            gamma is learned in every mode.
        layer_norm: normalise each layer's vectors before mixing (ELMo's option for layers of different scales).
    """

    def __init__(self, num_layers: int, *, mode: str = "learned", layer_norm: bool = False):
        super().__init__()
        if mode not in MIXES:
            raise ValueError(f"mode {mode!r}: choose {', '.join(MIXES)}")
        self.mode, self.layer_norm = mode, layer_norm
        logits = torch.zeros(num_layers)
        if mode == "top":
            logits[:-1] = -1e4  # softmax gives the last layer all the weight
        if mode == "learned":
            self.logits = nn.Parameter(logits)
        else:
            self.register_buffer("logits", logits)
        self.gamma = nn.Parameter(torch.ones(()))

    def weights(self) -> torch.Tensor:
        """s_j: the share of each layer, summing to one."""
        return torch.softmax(self.logits, dim=0)

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        """layers: (batch, tokens, num_layers, width) -> (batch, tokens, width)."""
        if self.layer_norm:
            layers = nn.functional.layer_norm(layers, layers.shape[-1:])
        return self.gamma * torch.einsum("btld,l->btd", layers, self.weights().to(layers.dtype))
