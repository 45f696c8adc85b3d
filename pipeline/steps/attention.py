"""Attention weights of a saved transformer over one sentence, and their pictures.

Each head of each layer scores every pair of tokens, softmax(Q K^T / sqrt(d)) row by row: row i is how
token i's query spreads one unit of weight over the keys of the tokens it may see (all of them in
BERT-style encoders, those before it in GPT-2). transformers returns these matrices with
`output_attentions=True`, from the plain ("eager") implementation only: the fused kernels never form them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import AutoModel  # noqa: E402
from transformers.utils import logging as transformers_logging  # noqa: E402

from ..harness.errors import UsageError  # noqa: E402
from ..harness.models import load_tokenizer  # noqa: E402
from ..harness.records import RunRecord  # noqa: E402
from ..harness.runs import model_dir  # noqa: E402


@dataclass
class Attention:
    """One sentence's attention: weights[layer, head, query token, key token], each row summing to 1."""

    tokens: list[str]
    weights: np.ndarray

    def layer_mean(self, layer: int) -> np.ndarray:
        """Layer `layer`'s weights averaged over its heads ([query, key])."""
        return self.weights[layer].mean(0)


def sentence_attention(run: Path, record: RunRecord, text: str, *, max_tokens: int = 64) -> Attention:
    """The attention of every layer and head of `run`'s model over `text` (its first `max_tokens` tokens)."""
    if record.model.get("class", "transformers") != "transformers":
        family = record.model.get("family", record.model.get("class"))
        raise UsageError(f"run '{run}' holds a {family} model, which has no attention: it reads a sentence through "
                         "a recurrent state or averaged vectors, so there are no weights to draw; attention maps are "
                         "for transformer runs (finetune.py, distill.py --student distil, pretrain.py)")
    folder = model_dir(run)
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # the task head's weights are not the encoder's: no warning
    try:
        model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()
    finally:
        transformers_logging.set_verbosity(verbosity)
    tokenizer = load_tokenizer(str(folder))
    inputs = tokenizer(text, truncation=True, max_length=max_tokens, return_tensors="pt")
    with torch.no_grad():
        attentions = model(**inputs, output_attentions=True).attentions
    if not attentions or attentions[0] is None:
        raise UsageError(f"run '{run}' ({model.config.model_type}) returns no attention weights from transformers")
    weights = torch.stack([layer[0] for layer in attentions]).float().numpy()
    return Attention(tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist()), weights)


def plot_heads(attention: Attention, path: Path, *, title: str) -> None:
    """Every layer (rows) and head (columns) as a heatmap, queries down and keys across; tokens named on the
    outer panels."""
    layers, heads, n = attention.weights.shape[:3]
    side = max(1.2, min(2.4, 0.09 * n + 0.6))
    figure, axes = plt.subplots(layers, heads, figsize=(side * heads + 1, side * layers + 1), squeeze=False)
    small = max(3, min(7, 140 // max(n, 1)))
    for layer in range(layers):
        for head in range(heads):
            axis = axes[layer, head]
            axis.imshow(attention.weights[layer, head], cmap="viridis", vmin=0, vmax=1)
            axis.set_xticks([])
            axis.set_yticks([])
            if layer == 0:
                axis.set_title(f"head {head + 1}", fontsize=8)
            if head == 0:
                axis.set_ylabel(f"layer {layer + 1}", fontsize=8)
                axis.set_yticks(range(n), attention.tokens, fontsize=small)
            if layer == layers - 1:
                axis.set_xticks(range(n), attention.tokens, fontsize=small, rotation=90)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_layer_mean(attention: Attention, layer: int, path: Path, *, title: str) -> None:
    """One layer's weights averaged over its heads, each cell's weight written in it where it fits."""
    weights, n = attention.layer_mean(layer), len(attention.tokens)
    figure, axis = plt.subplots(figsize=(max(5, 0.45 * n + 2), max(4.5, 0.45 * n + 1.5)))
    image = axis.imshow(weights, cmap="viridis", vmin=0, vmax=max(float(weights.max()), 1e-6))
    axis.set_xticks(range(n), attention.tokens, rotation=90)
    axis.set_yticks(range(n), attention.tokens)
    axis.set_xlabel("key (attended to)")
    axis.set_ylabel("query (attending)")
    if n <= 24:
        for i in range(n):
            for j in range(n):
                axis.text(j, i, f"{weights[i, j]:.2f}", ha="center", va="center", fontsize=6,
                          color="white" if weights[i, j] < 0.6 * weights.max() else "black")
    figure.colorbar(image, ax=axis, fraction=0.046)
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
