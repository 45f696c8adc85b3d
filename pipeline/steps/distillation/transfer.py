"""The transfer set: text the teacher labels that the labelled set does not have (what makes soft targets pay).

Sources, in order: train rows that --max_train_samples left out (their labels unused), more sentences
from the built-in generator, a user's unlabelled file, and augmented copies of the labelled text
(Tang et al. 2019; on sentence pairs each sentence is changed on its own). Inputs equal to a labelled,
validation or test input are dropped. An input is a
(text, text_pair) pair, the second None for single texts: on sentence pairs (MRPC) the teacher and the
student read both sentences, as the test does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ...harness.data import DataSpec, Task, load_texts
from ...harness.data.encoding import Input, row_inputs
from ...harness.data import builtin
from ..augmentation import augment, embedding_neighbors


@dataclass
class TransferSet:
    inputs: list[Input]
    sources: dict[str, int]  # how many inputs each source gave, after de-duplication


def build_transfer_set(task: Task, data_spec: DataSpec, settings, *, teacher_tokenizer, teacher_embeddings,
                       seed: int) -> TransferSet:
    """Every transfer input once, none equal to a labelled, validation or test input; capped by max_transfer_rows.

    The generator and unlabelled files give single texts (the distiller refuses a file for sentence-pair
    data); augmentation keeps the shape of the labelled rows."""
    candidates: dict[str, list[Input]] = {}
    if settings.left_out and task.left_out:
        candidates["left-out train rows"] = task.left_out
    if settings.generated and data_spec.dataset == "builtin" and not data_spec.train_file:
        generate = getattr(builtin, task.task_type.generated)  # the generator of this task type's built-in set
        candidates["built-in generator"] = _single(generate(data_spec.data_seed, settings.generated))
    if settings.unlabeled_file:
        candidates[settings.unlabeled_file] = _single(load_texts(settings.unlabeled_file, settings.unlabeled_column))
    if settings.augment and settings.augment_copies:
        labelled = row_inputs(task.splits["train"])
        words = " ".join(text for row in labelled for text in row if text).split()
        neighbors = (embedding_neighbors(words, teacher_tokenizer, teacher_embeddings)
                     if "neighbors" in settings.augment else None)

        def copies(texts: list[str], offset: int) -> list[str]:
            return augment(texts, settings.augment, copies=settings.augment_copies, seed=seed + offset,
                           mask_token=teacher_tokenizer.mask_token or "[MASK]", neighbors=neighbors)

        # A sentence pair's sentences are changed independently, each as a single sentence would be.
        first = copies([text for text, _ in labelled], 0)
        second = copies([pair for _, pair in labelled], 1) if task.is_pair else [None] * len(first)
        candidates["augmentation"] = list(zip(first, second))
    seen = {row for split in task.splits.values() for row in row_inputs(split)}
    inputs, sources = [], {}
    for source, items in candidates.items():
        fresh = [row for row in dict.fromkeys(items) if row not in seen]
        seen.update(fresh)
        inputs += fresh
        sources[source] = len(fresh)
    if settings.max_transfer_rows is not None and len(inputs) > settings.max_transfer_rows:
        inputs = random.Random(seed).sample(inputs, settings.max_transfer_rows)
    return TransferSet(inputs, sources)


def _single(texts: list[str]) -> list[Input]:
    return [(text, None) for text in texts]

