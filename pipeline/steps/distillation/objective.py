"""The student's training step: its logits against soft targets, and (optionally) its insides against the teacher's."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

import torch
from torch import nn

from ...harness.evaluation import MODEL_INPUTS
from .losses import SoftTargetLoss

# Where the last layer's query/key/value projections live, per model type (for RelationLoss).
QKV_MODULES = {
    "bert": (lambda model: model.bert.encoder.layer[-1].attention.self, ("query", "key", "value")),
    "distilbert": (lambda model: model.distilbert.transformer.layer[-1].attention, ("q_lin", "k_lin", "v_lin")),
}


@contextmanager
def captured_qkv(model: nn.Module):
    """The last layer's query, key and value states of the forward pass run inside the block."""
    model = getattr(model, "module", model)  # under DDP the model is wrapped
    locate, names = QKV_MODULES[model.config.model_type]
    block, states = locate(model), {}
    handles = [getattr(block, name).register_forward_hook(
        lambda module, args, output, name=name: states.__setitem__(name, output)) for name in names]
    try:
        yield lambda: tuple(states[name] for name in names)
    finally:
        for handle in handles:
            handle.remove()


class DistillationObjective:
    """loss(model, batch, progress) for the training loop; the batch carries `teacher_logits` and `hard_weight`.

    Args:
        soft: the soft-target loss (with the gold labels where they exist).
        teacher: the teacher model, run alongside only when an intermediate loss needs its insides.
        intermediate: (what it reads, module) for each loss on the student's insides (INTERMEDIATE_LOSSES);
            a module with parameters of its own (a projection) is trained with the student: see `modules`.
        teacher_ids: the teacher's id of each of the student's token ids, where the student's vocabulary was
            pruned (the same tokens, numbered apart).
    """

    def __init__(self, soft: SoftTargetLoss, *, teacher: nn.Module | None = None,
                 intermediate: tuple[tuple[str, nn.Module], ...] = (), teacher_ids: torch.Tensor | None = None):
        self.soft, self.teacher, self.intermediate, self.teacher_ids = soft, teacher, intermediate, teacher_ids
        self.reads = {reads for reads, _ in intermediate}

    @property
    def modules(self) -> tuple[nn.Module, ...]:
        """Loss modules with parameters of their own, to train alongside the student."""
        return tuple(module for _, module in self.intermediate if any(True for _ in module.parameters()))

    def _run(self, model: nn.Module, inputs: dict):
        """The model's output, and the last layer's query/key/value states when a loss reads them."""
        with captured_qkv(model) if "qkv" in self.reads else nullcontext() as qkv:
            out = model(**inputs, output_hidden_states="hidden_states" in self.reads or None)
        return out, (qkv() if qkv else None)

    def __call__(self, model: nn.Module, batch: dict, progress: float) -> torch.Tensor:
        inputs = {k: v for k, v in batch.items() if k in MODEL_INPUTS}
        out, student_qkv = self._run(model, inputs)
        loss = self.soft(out.logits, batch["teacher_logits"], batch["labels"], batch["hard_weight"],
                         progress=progress, word_starts=batch.get("word_starts"))
        if not self.intermediate:
            return loss
        if self.teacher_ids is not None:
            self.teacher_ids = self.teacher_ids.to(inputs["input_ids"].device)
            inputs = {**inputs, "input_ids": self.teacher_ids[inputs["input_ids"]]}
        with torch.no_grad():
            target, teacher_qkv = self._run(self.teacher, inputs)
        sides = {"hidden_states": (out.hidden_states, target.hidden_states), "qkv": (student_qkv, teacher_qkv)}
        for reads, module in self.intermediate:
            loss = loss + module(*sides[reads], inputs["attention_mask"])
        return loss


def teacher_ids(student_tokenizer, teacher_tokenizer) -> torch.Tensor | None:
    """The teacher's id of each student token id, where the two vocabularies number the same tokens apart (a
    pruned student's); None where they agree."""
    student, teacher = student_tokenizer.get_vocab(), teacher_tokenizer.get_vocab()
    if student == teacher:
        return None
    ids = torch.zeros(len(student), dtype=torch.long)
    for token, i in student.items():
        ids[i] = teacher[token]
    return ids
