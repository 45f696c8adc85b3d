"""Data augmentation for distillation (Tang et al. 2019): new text the teacher labels with soft targets."""

from __future__ import annotations

import random

import torch

from ..harness.errors import UsageError

AUGMENTATIONS = ("mask", "neighbors", "ngram")


def embedding_neighbors(words: list[str], tokenizer, embeddings: torch.Tensor, k: int = 5) -> dict[str, list[str]]:
    """For each word that is one token of the teacher's vocabulary, its k nearest words by input embedding."""
    vocab = tokenizer.get_vocab()
    known = [w for w in dict.fromkeys(words) if w in vocab and w.isalpha()]
    if len(known) < 2:
        return {}
    vectors = torch.nn.functional.normalize(embeddings[[vocab[w] for w in known]].float(), dim=-1)
    similarity = vectors @ vectors.T
    similarity.fill_diagonal_(-1.0)
    nearest = similarity.topk(min(k, len(known) - 1), dim=-1).indices
    return {word: [known[j] for j in row.tolist()] for word, row in zip(known, nearest)}


def augment(texts: list[str], kinds: list[str], *, copies: int, seed: int, mask_token: str,
            neighbors: dict[str, list[str]] | None = None, p_mask: float = 0.1, p_neighbor: float = 0.1,
            p_ngram: float = 0.25, max_ngram: int = 5) -> list[str]:
    """`copies` new sentences per input: words masked or swapped for a neighbour, then maybe cut to an n-gram."""
    unknown = set(kinds) - set(AUGMENTATIONS)
    if unknown:
        raise UsageError(f"unknown augmentation {sorted(unknown)}; choose from {', '.join(AUGMENTATIONS)}")
    rng = random.Random(seed)
    out = []
    for _ in range(copies):
        for text in texts:
            words = text.split()
            new = []
            for word in words:
                roll = rng.random()
                if "mask" in kinds and roll < p_mask:
                    new.append(mask_token)
                elif "neighbors" in kinds and neighbors and word in neighbors and roll < p_mask + p_neighbor:
                    new.append(rng.choice(neighbors[word]))
                else:
                    new.append(word)
            if "ngram" in kinds and rng.random() < p_ngram and len(new) > 1:
                n = rng.randint(1, min(max_ngram, len(new)))
                start = rng.randint(0, len(new) - n)
                new = new[start:start + n]
            out.append(" ".join(new))
    return out
