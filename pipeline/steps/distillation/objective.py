"""The student's training step: its logits against soft targets, and (optionally) its insides against the teacher's."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

import torch
from torch import nn

from ...harness.evaluation import MODEL_INPUTS
from .losses import HiddenStateLoss, RelationLoss, SoftTargetLoss

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
        hidden: hidden-state loss (its projection is trained with the student: see `modules`).
        relation: MiniLM-style self-attention relation loss.
    """

    def __init__(self, soft: SoftTargetLoss, *, teacher: nn.Module | None = None,
                 hidden: HiddenStateLoss | None = None, relation: RelationLoss | None = None):
        self.soft, self.teacher, self.hidden, self.relation = soft, teacher, hidden, relation

    @property
    def modules(self) -> tuple[nn.Module, ...]:
        """Loss modules with parameters of their own, to train alongside the student."""
        return (self.hidden,) if self.hidden is not None and any(True for _ in self.hidden.parameters()) else ()

    def __call__(self, model: nn.Module, batch: dict, progress: float) -> torch.Tensor:
        inputs = {k: v for k, v in batch.items() if k in MODEL_INPUTS}
        with captured_qkv(model) if self.relation else nullcontext() as student_qkv:
            out = model(**inputs, output_hidden_states=self.hidden is not None or None)
        loss = self.soft(out.logits, batch["teacher_logits"], batch["labels"], batch["hard_weight"],
                         progress=progress)
        if self.hidden is None and self.relation is None:
            return loss
        with torch.no_grad(), captured_qkv(self.teacher) if self.relation else nullcontext() as teacher_qkv:
            target = self.teacher(**inputs, output_hidden_states=self.hidden is not None or None)
        if self.hidden is not None:
            loss = loss + self.hidden(out.hidden_states, target.hidden_states, inputs["attention_mask"])
        if self.relation is not None:
            loss = loss + self.relation(student_qkv(), teacher_qkv(), inputs["attention_mask"])
        return loss
