"""Pruning a cut student to its task (as TextPruner does, Yang et al. 2022): its vocabulary, its feed-forward width.

Most of a small BERT is its vocabulary (MiniLM-L6: 11.7M of its 22.7M parameters are 30,522 embedding rows), and a
task's text uses a few thousand of them. WordPiece splits greedily, longest piece first, so every text the kept pieces
came from splits exactly as before; a word no such text had still spells out from the single characters kept as a
margin, instead of becoming [UNK]. The rows cost memory, not time: what a batch costs is the layers, two thirds of each
the feed-forward block (384 -> 1536 -> 384 in MiniLM), so narrowing that block is what buys throughput.
"""

from __future__ import annotations

import json

import torch
from tokenizers import Tokenizer
from torch import nn
from transformers import DistilBertForSequenceClassification, PreTrainedTokenizerFast

from ...harness.errors import UsageError


def kept_token_ids(tokenizer: PreTrainedTokenizerFast, texts: list[str], *, prefix: str,
                   batch_size: int = 2000) -> list[int]:
    """The ids `texts` tokenize to, every special token, and every single character with and without the
    word-piece `prefix` (the margin), in the vocabulary's order."""
    kept = set(tokenizer.all_special_ids)
    for start in range(0, len(texts), batch_size):
        for ids in tokenizer(texts[start:start + batch_size], truncation=False)["input_ids"]:
            kept.update(ids)
    kept.update(i for token, i in tokenizer.get_vocab().items()
                if len(token) == 1 or (prefix and token.startswith(prefix) and len(token) == len(prefix) + 1))
    return sorted(kept)


def prune_vocabulary(model: nn.Module, tokenizer: PreTrainedTokenizerFast,
                     texts: list[str]) -> tuple[PreTrainedTokenizerFast, torch.Tensor]:
    """Cut `model`'s input embeddings (in place) and `tokenizer` to the tokens `texts` use; returns the pruned
    tokenizer and, for each new id, the id it had (what a teacher reading the same tokens needs)."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    if spec["model"]["type"] != "WordPiece":
        raise UsageError(f"--prune_vocabulary cuts WordPiece vocabularies, and this teacher's tokenizer is "
                         f"{spec['model']['type']}; add --no_prune_vocabulary")
    kept = kept_token_ids(tokenizer, texts, prefix=spec["model"].get("continuing_subword_prefix") or "")
    new_id = {old: new for new, old in enumerate(kept)}
    spec["model"]["vocab"] = {token: new_id[i] for token, i in spec["model"]["vocab"].items() if i in new_id}
    for added in spec["added_tokens"]:
        added["id"] = new_id[added["id"]]
    for special in (spec.get("post_processor") or {}).get("special_tokens", {}).values():
        special["ids"] = [new_id[i] for i in special["ids"]]
    pruned = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(spec)), model_max_length=tokenizer.model_max_length,
        padding_side=tokenizer.padding_side, model_input_names=tokenizer.model_input_names,
        **{name: getattr(tokenizer, name) for name in ("unk_token", "sep_token", "pad_token", "cls_token",
                                                        "mask_token") if getattr(tokenizer, name) is not None})
    old = model.get_input_embeddings()
    index = torch.tensor(kept)
    embedding = nn.Embedding(len(kept), old.embedding_dim, padding_idx=pruned.pad_token_id)
    with torch.no_grad():
        embedding.weight.copy_(old.weight[index])
    model.set_input_embeddings(embedding)
    model.config.vocab_size, model.config.pad_token_id = len(kept), pruned.pad_token_id
    return pruned, index


def neuron_importance(model: DistilBertForSequenceClassification, tokenizer: PreTrainedTokenizerFast,
                      texts: list[str], *, max_length: int, sample: int = 2000,
                      batch_size: int = 64) -> list[torch.Tensor]:
    """Each layer's feed-forward neurons scored by how much they write into the residual stream on the task's text:
    the mean |activation| over real tokens times the norm of the neuron's output weights, on `sample` texts spread
    evenly over `texts`. No labels needed, so the pretrained cut is scored as the fine-tuned one is."""
    layers = model.distilbert.transformer.layer
    scores = [torch.zeros(layer.ffn.lin1.out_features) for layer in layers]
    mask: list[torch.Tensor] = []

    def collect(index: int):
        def hook(module, inputs):  # inputs[0]: the activations after GELU, (batch, length, neurons)
            scores[index].add_((inputs[0].abs() * mask[0][..., None]).sum(dim=(0, 1)))
        return hook

    handles = [layer.ffn.lin2.register_forward_pre_hook(collect(i)) for i, layer in enumerate(layers)]
    spread = texts[::max(1, len(texts) // sample)][:sample]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(spread), batch_size):
                batch = tokenizer(spread[start:start + batch_size], padding=True, truncation=True,
                                  max_length=max_length, return_tensors="pt")
                mask[:] = [batch["attention_mask"].float()]
                model.distilbert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return [score * layer.ffn.lin2.weight.detach().norm(dim=0) for score, layer in zip(scores, layers)]


def narrow_feed_forward(model: DistilBertForSequenceClassification, keep: list[torch.Tensor]) -> None:
    """Cut each layer's feed-forward block (in place) to the neurons `keep[layer]` names, all layers one width."""
    with torch.no_grad():
        for layer, kept in zip(model.distilbert.transformer.layer, keep):
            kept = torch.sort(kept).values
            lin1, lin2 = layer.ffn.lin1, layer.ffn.lin2
            narrow1, narrow2 = nn.Linear(lin1.in_features, len(kept)), nn.Linear(len(kept), lin2.out_features)
            narrow1.weight.copy_(lin1.weight[kept])
            narrow1.bias.copy_(lin1.bias[kept])
            narrow2.weight.copy_(lin2.weight[:, kept])
            narrow2.bias.copy_(lin2.bias)
            layer.ffn.lin1, layer.ffn.lin2 = narrow1, narrow2
    model.config.hidden_dim = len(keep[0])


def prune_feed_forward(model: DistilBertForSequenceClassification, tokenizer: PreTrainedTokenizerFast,
                       texts: list[str], *, width: int, max_length: int) -> None:
    """Keep the `width` most important neurons of each layer's feed-forward block (in place)."""
    scores = neuron_importance(model, tokenizer, texts, max_length=max_length)
    narrow_feed_forward(model, [score.topk(width).indices for score in scores])
