"""The transfer set: text the teacher labels that the labelled set does not have (what makes soft targets pay).

Sources, in order: train rows that --max_train_samples left out (their labels unused), more sentences
from the built-in generator, a user's unlabelled file, and augmented copies of the labelled text
(Tang et al. 2019). Texts equal to a labelled, validation or test text are dropped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ...harness.data import DataSpec, Task, load_texts
from ...harness.data.builtin import unlabeled_sentences
from ..augmentation import augment, embedding_neighbors


@dataclass
class TransferSet:
    texts: list[str]
    sources: dict[str, int]  # how many texts each source gave, after de-duplication


def build_transfer_set(task: Task, data_spec: DataSpec, settings, *, teacher_tokenizer, teacher_embeddings,
                       seed: int) -> TransferSet:
    """Every transfer text once, none equal to a labelled, validation or test text; capped by max_transfer_rows."""
    candidates: dict[str, list[str]] = {}
    if settings.left_out and task.left_out:
        candidates["left-out train rows"] = task.left_out
    if settings.generated and data_spec.dataset == "builtin" and not data_spec.train_file:
        candidates["built-in generator"] = unlabeled_sentences(data_spec.data_seed, settings.generated)
    if settings.unlabeled_file:
        candidates[settings.unlabeled_file] = load_texts(settings.unlabeled_file, settings.unlabeled_column)
    if settings.augment and settings.augment_copies:
        labelled = list(task.splits["train"]["text"])
        neighbors = (embedding_neighbors(" ".join(labelled).split(), teacher_tokenizer, teacher_embeddings)
                     if "neighbors" in settings.augment else None)
        candidates["augmentation"] = augment(labelled, settings.augment, copies=settings.augment_copies, seed=seed,
                                             mask_token=teacher_tokenizer.mask_token or "[MASK]", neighbors=neighbors)
    seen = {text for split in task.splits.values() for text in split["text"]}
    texts, sources = [], {}
    for source, items in candidates.items():
        fresh = [text for text in dict.fromkeys(items) if text not in seen]
        seen.update(fresh)
        texts += fresh
        sources[source] = len(fresh)
    if settings.max_transfer_rows is not None and len(texts) > settings.max_transfer_rows:
        texts = random.Random(seed).sample(texts, settings.max_transfer_rows)
    return TransferSet(texts, sources)
