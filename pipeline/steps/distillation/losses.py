"""Distillation losses as modules, each with the weights and schedule it owns.

- SoftTargetLoss: Hinton et al. 2015, as DistilBERT uses it (plus the gold labels where they exist).
- HiddenStateLoss: cosine / MSE between matched layers, through a learned projection where widths differ.
- RelationLoss: MiniLM v2's self-attention relations (query-query, key-key, value-value of the last
  layer), split into the same number of relation heads on both sides, so head counts and widths may differ.

Adding a loss on the student's insides is one entry in INTERMEDIATE_LOSSES (and its weight in config.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ...harness.evaluation import per_word
from ...harness.tasks import TaskType


class SoftTargetLoss(nn.Module):
    """alpha_kd * soft-target loss + alpha_hard * loss on the gold labels, each the task type's own.

    Classes: T^2 KL(p_teacher,T || p_student,T) and cross-entropy (Hinton et al. 2015); label sets: T^2
    binary cross-entropy against each label's softened sigmoid, and binary cross-entropy; numbers: squared
    distance to the teacher's prediction (no temperature) and to the gold number (Tang et al. 2019 use MSE
    on logits throughout).

    Args:
        kind: the task type (harness/tasks.py), whose soft_loss and hard_loss give one value per row.
        temperature: T at the start of training.
        temperature_end: T at the end, reached linearly with training progress (None: T throughout).
        alpha_kd: weight of the soft-target term.
        alpha_hard: weight of the loss on gold labels; rows whose hard_weight is 0 (transfer text, which has
            only the teacher's word for its label) are left out of it.
        class_weights: each class's weight in the loss on gold labels (--class_weights; the soft targets come
            from a teacher trained with the same weights).
    """

    def __init__(self, kind: TaskType, *, temperature: float = 2.0, temperature_end: float | None = None,
                 alpha_kd: float = 0.5, alpha_hard: float = 0.5, class_weights: torch.Tensor | None = None):
        super().__init__()
        self.kind, self.temperature, self.alpha_kd, self.alpha_hard = kind, temperature, alpha_kd, alpha_hard
        self.class_weights = class_weights
        self.temperature_end = temperature if temperature_end is None else temperature_end

    def temperature_at(self, progress: float) -> float:
        return self.temperature + (self.temperature_end - self.temperature) * min(max(progress, 0.0), 1.0)

    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                hard_weight: torch.Tensor, *, progress: float = 0.0,
                word_starts: torch.Tensor | None = None) -> torch.Tensor:
        """teacher_logits is [batch, teachers, labels] (a tagger's: [batch, teachers, words, labels]): several
        teachers' soft targets are averaged. `word_starts`: where a tagger's words start among its pieces, so
        that its soft targets are matched word by word, whatever each side's tokenizer made of the words."""
        loss = student_logits.new_zeros((), dtype=torch.float)
        if self.alpha_kd:
            soft_input = student_logits if word_starts is None else per_word(student_logits, word_starts)
            loss = loss + self.alpha_kd * self.kind.soft_loss(soft_input, teacher_logits,
                                                              self.temperature_at(progress)).mean()
        if self.alpha_hard:
            weights = None if self.class_weights is None else self.class_weights.to(student_logits.device)
            hard = self.kind.hard_loss(student_logits, labels, weights=weights)
            loss = loss + self.alpha_hard * (hard * hard_weight).sum() / hard_weight.sum().clamp(min=1.0)
        return loss


def matched_layers(student_layers: int, teacher_layers: int) -> list[tuple[int, int]]:
    """Pairs of hidden-state indices (0 = embeddings): each student layer ends where its teacher block ends."""
    return [(i, round(i * teacher_layers / student_layers)) for i in range(student_layers + 1)]


class HiddenStateLoss(nn.Module):
    """Cosine distance and MSE between matched hidden states, over real (unpadded) tokens.

    Args:
        student_width, teacher_width: hidden sizes; where they differ, a linear projection of the
            student's states (trained with the student, dropped after training) maps them across.
        alpha_cos: weight of 1 - cosine similarity.
        alpha_mse: weight of the mean squared error.
    """

    def __init__(self, *, student_width: int, teacher_width: int, alpha_cos: float = 0.0, alpha_mse: float = 0.0):
        super().__init__()
        self.alpha_cos, self.alpha_mse = alpha_cos, alpha_mse
        self.projection = nn.Linear(student_width, teacher_width) if student_width != teacher_width else nn.Identity()

    def forward(self, student_states: tuple[torch.Tensor, ...], teacher_states: tuple[torch.Tensor, ...],
                attention_mask: torch.Tensor) -> torch.Tensor:
        pairs = matched_layers(len(student_states) - 1, len(teacher_states) - 1)
        mask = attention_mask.bool()
        loss = attention_mask.new_zeros((), dtype=torch.float)
        for s, t in pairs:
            student, teacher = self.projection(student_states[s][mask].float()), teacher_states[t][mask].float()
            if self.alpha_cos:
                loss = loss + self.alpha_cos * (1 - F.cosine_similarity(student, teacher, dim=-1)).mean() / len(pairs)
            if self.alpha_mse:
                loss = loss + self.alpha_mse * F.mse_loss(student, teacher) / len(pairs)
        return loss


class RelationLoss(nn.Module):
    """MiniLM v2 (Wang et al. 2021): KL between teacher and student self-attention relations.

    For each of query, key and value of the last layer, the [batch, length, width] states are cut into
    `relation_heads` heads, and softmax(x x^T / sqrt(d)) over real tokens is each token's relation to
    the others. Both sides use the same number of relation heads, so the student needs neither the
    teacher's head count nor its width.

    Args:
        relation_heads: heads both sides are split into (must divide both widths).
        alpha: weight of the loss, averaged over the three relations.
    """

    def __init__(self, *, relation_heads: int = 12, alpha: float = 1.0):
        super().__init__()
        self.relation_heads, self.alpha = relation_heads, alpha

    def _log_relations(self, states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        batch, length, width = states.shape
        heads = states.float().view(batch, length, self.relation_heads, width // self.relation_heads).transpose(1, 2)
        scores = heads @ heads.transpose(-1, -2) / (width // self.relation_heads) ** 0.5
        scores = scores.masked_fill(~attention_mask.bool()[:, None, None, :], torch.finfo(scores.dtype).min)
        return F.log_softmax(scores, dim=-1)

    def forward(self, student_qkv: tuple[torch.Tensor, ...], teacher_qkv: tuple[torch.Tensor, ...],
                attention_mask: torch.Tensor) -> torch.Tensor:
        rows = attention_mask.bool()[:, None, :, None]  # relations of real tokens only
        loss = attention_mask.new_zeros((), dtype=torch.float)
        for student, teacher in zip(student_qkv, teacher_qkv):
            log_student = self._log_relations(student, attention_mask)
            log_teacher = self._log_relations(teacher, attention_mask)
            kl = (log_teacher.exp() * (log_teacher - log_student)).masked_fill(~rows, 0.0).sum(-1)
            loss = loss + self.alpha * kl.sum() / (rows.sum() * self.relation_heads) / len(student_qkv)
        return loss


@dataclass(frozen=True)
class IntermediateLoss:
    """A loss on the student's insides against the teacher's, which then runs alongside the student.

    reads: what the loss compares, "hidden_states" (every layer's output) or "qkv" (the last layer's
        query, key and value states); it is called as loss(student's, teacher's, attention_mask).
    active: whether the run's settings (DistillConfig) switch it on.
    build: (settings, student model, teacher model) -> the loss module.
    """

    reads: str
    active: Callable[[object], bool]
    build: Callable[[object, nn.Module, nn.Module], nn.Module]


INTERMEDIATE_LOSSES: dict[str, IntermediateLoss] = {
    "hidden_states": IntermediateLoss(
        "hidden_states", lambda s: bool(s.alpha_cos or s.alpha_mse),
        lambda s, student, teacher: HiddenStateLoss(student_width=student.config.dim,
                                                    teacher_width=teacher.config.hidden_size,
                                                    alpha_cos=s.alpha_cos, alpha_mse=s.alpha_mse)),
    "relation": IntermediateLoss(
        "qkv", lambda s: bool(s.alpha_relation),
        lambda s, student, teacher: RelationLoss(relation_heads=s.relation_heads, alpha=s.alpha_relation)),
}
