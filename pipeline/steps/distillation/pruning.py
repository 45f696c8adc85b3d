"""Vocabulary pruning (as TextPruner does it, Yang et al. 2022): a transformer student keeps the embedding rows of the
tokens its task's text uses, and its tokenizer is cut to match.

Most of a small BERT is its vocabulary (MiniLM-L6: 11.7M of its 22.7M parameters are 30,522 embedding rows), and a
task's text uses a few thousand of them. WordPiece splits greedily, longest piece first, so every text the kept pieces
came from splits exactly as before; a word no such text had still spells out from the single characters kept as a
margin, instead of becoming [UNK].
"""

from __future__ import annotations

import json

import torch
from tokenizers import Tokenizer
from torch import nn
from transformers import PreTrainedTokenizerFast

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
