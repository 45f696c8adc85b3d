"""Distillation's options, checked where they are declared."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Callable

from ...harness.errors import UsageError, check_options
from ...harness.heads import POOLINGS
from ...harness.models import PRESETS
from ...harness.records import read_record
from ...harness.runs import RECORD
from ..augmentation import AUGMENTATIONS
from .losses import INTERMEDIATE_LOSSES


@dataclass
class DistillConfig:
    teacher: list[str] = field(default_factory=lambda: ["minilm"], metadata={
        "help": "Teacher: a preset to fine-tune on the labelled rows (or reuse), a run folder, a local "
                "directory or a hub id. Give it more than once to average several teachers' soft targets."})
    teacher_epochs: int | None = field(default=None, metadata={
        "help": "Epochs when a preset teacher is fine-tuned first (default: enough for --teacher_steps, 2 to 20; "
                "it stops after 3 epochs without a validation gain either way)."})
    teacher_steps: int | None = field(default=None, metadata={
        "help": "The teacher fine-tune's budget in optimizer steps of 32 rows, when --teacher_epochs is not given "
                "(default by task type: 320, 10 epochs of 1,000 labelled rows; 640 for label sets)."})
    teacher_learning_rate: float | None = field(default=None, metadata={
        "help": "Learning rate of that fine-tune (default by task type: 1e-4; 2e-4 for label sets)."})
    teacher_pooling: str | None = field(default=None, metadata={
        "help": f"The teacher's read-out, {' or '.join(POOLINGS)} (default by task type: the mean of the tokens for "
                "label sets and numbers, what MiniLM was trained with; the family's [CLS] for classes, and wherever "
                "--student distil is cut from the fine-tuned teacher)."})
    teacher_seed: int = field(default=42, metadata={
        "help": "Seed of that fine-tune (apart from --seed, so student seeds share one teacher)."})
    student: str = field(default="bilstm", metadata={
        "help": "'bilstm' (Tang et al. 2019), 'distil' (a DistilBERT of every other teacher layer), "
                "a preset, directory or hub id."})
    student_steps: int = field(default=640, metadata={
        "help": "The distilled student trains at least this many optimizer steps: --epochs over the labelled and "
                "transfer rows, more epochs where the transfer set is small (the built-in set's 11,000 rows take 4)."})
    layer_map: str | None = field(default=None, metadata={
        "help": "Teacher layers copied into the 'distil' student, e.g. '0,2,4' (default: every other layer)."})
    prune_vocabulary: bool = field(default=True, metadata={
        "help": "The 'distil' student keeps only the embedding rows of the tokens the labelled and transfer text "
                "use, and every single character (--no_prune_vocabulary: the teacher's whole vocabulary)."})
    ffn_dim: int | None = field(default=None, metadata={
        "help": "Feed-forward width of each layer of the 'distil' student: the neurons that write most into the "
                "residual stream on the task's text are kept (default: the teacher's width, MiniLM's 1536). Two "
                "thirds of a layer's work: '--layer_map 0,3 --ffn_dim 384' ran 4.6-5.3x MiniLM's speed at batch 64."})
    temperature: float = field(default=2.0, metadata={"help": "Softmax temperature T of the soft targets."})
    temperature_end: float | None = field(default=None, metadata={
        "help": "Anneal T linearly to this value over training (default: constant)."})
    alpha_kd: float = field(default=1.0, metadata={
        "help": "Weight of the soft-target loss (classes: T^2 * KL(teacher || student); label sets: T^2 * binary "
                "cross-entropy; numbers: squared distance to the teacher's)."})
    alpha_hard: float = field(default=0.0, metadata={
        "help": "Weight of the loss on the gold labels (cross-entropy, binary cross-entropy or squared error)."})
    alpha_cos: float = field(default=0.0, metadata={"help": "Weight of the hidden-state cosine loss."})
    alpha_mse: float = field(default=0.0, metadata={
        "help": "Weight of the hidden-state MSE (through a learned projection where widths differ)."})
    alpha_relation: float = field(default=0.0, metadata={
        "help": "Weight of MiniLM v2's query/key/value relation loss on the last layer."})
    relation_heads: int = field(default=12, metadata={"help": "Relation heads of that loss (divides both widths)."})
    left_out: bool = field(default=True, metadata={
        "help": "Train rows that --max_train_samples leaves out join the transfer set, their labels unused."})
    generated: int = field(default=5000, metadata={
        "help": "With --dataset builtin: this many more generated sentences join the transfer set "
                "(never a test sentence, never a held-out pairing)."})
    unlabeled_file: str | None = field(default=None, metadata={
        "help": "Unlabelled text for the transfer set: a .txt file (one text a line) or a csv/tsv/json/"
                "jsonl/parquet file (see --unlabeled_column)."})
    unlabeled_column: str | None = field(default=None, metadata={
        "help": "Column of --unlabeled_file holding the text (default: sentence/text/review...)."})
    max_transfer_rows: int | None = field(default=None, metadata={"help": "Cap the transfer set (seeded sample)."})
    augment: list[str] = field(default_factory=list, metadata={
        "help": "Augmented copies of the labelled text in the transfer set (Tang et al.): mask, neighbors, ngram."})
    augment_copies: int = field(default=0, metadata={"help": "Augmented copies per labelled sentence."})
    teacher_guard: bool = field(default=True, metadata={
        "help": "Stop when the teacher does not beat the trivial guess on validation (the majority class, the best "
                "constant label set, the training mean, no entity) with p < 0.01; --no_teacher_guard distils anyway."})
    ablation: bool = field(default=True, metadata={
        "help": "Also train the same student, from the same initialisation, on the labels alone."})
    teacher_init: bool = field(default=True, metadata={
        "help": "For students that can start from the fine-tuned teacher's weights ('distil'), also that row."})
    export: bool = field(default=True, metadata={"help": "Export the distilled student to ONNX and int8 ONNX."})

    def __post_init__(self):
        checks = [
            (self.teacher_epochs is None or self.teacher_epochs >= 1,
             f"--teacher_epochs must be at least 1 (got {self.teacher_epochs})"),
            (self.teacher_steps is None or self.teacher_steps >= 1,
             f"--teacher_steps must be at least 1 (got {self.teacher_steps})"),
            (self.student_steps >= 0, f"--student_steps must not be negative (got {self.student_steps})"),
            (self.teacher_learning_rate is None or self.teacher_learning_rate > 0,
             f"--teacher_learning_rate must be positive (got {self.teacher_learning_rate})"),
            (self.teacher_pooling is None or self.teacher_pooling in POOLINGS,
             f"--teacher_pooling {self.teacher_pooling!r}: choose {', '.join(POOLINGS)}"),
            (self.temperature > 0, f"--temperature must be positive (got {self.temperature})"),
            (self.temperature_end is None or self.temperature_end > 0,
             f"--temperature_end must be positive (got {self.temperature_end})"),
            (min(self.alpha_kd, self.alpha_hard, self.alpha_cos, self.alpha_mse, self.alpha_relation) >= 0,
             "loss weights (--alpha_*) must not be negative"),
            (self.alpha_kd > 0 or self.alpha_hard > 0, "--alpha_kd and --alpha_hard are both 0: nothing to learn from"),
            (self.ffn_dim is None or self.ffn_dim >= 1, f"--ffn_dim must be at least 1 (got {self.ffn_dim})"),
            (self.relation_heads >= 1, f"--relation_heads must be at least 1 (got {self.relation_heads})"),
            (self.generated >= 0, f"--generated must not be negative (got {self.generated})"),
            (self.max_transfer_rows is None or self.max_transfer_rows >= 0,
             f"--max_transfer_rows must not be negative (got {self.max_transfer_rows})"),
            (self.augment_copies >= 0, f"--augment_copies must not be negative (got {self.augment_copies})"),
            (not set(self.augment) - set(AUGMENTATIONS),
             f"unknown augmentation {sorted(set(self.augment) - set(AUGMENTATIONS))}; "
             f"choose from {', '.join(AUGMENTATIONS)}"),
            (bool(self.teacher), "give at least one --teacher"),
        ]
        check_options(checks)
        check_applies(self)

    @property
    def deep(self) -> bool:
        """Whether a loss needs the teacher's hidden states or attention (it then runs alongside the student)."""
        return any(loss.active(self) for loss in INTERMEDIATE_LOSSES.values())


# Which options apply where: an option given a value other than its default where it has no effect is
# refused, saying what it applies to (instead of being silently ignored).
APPLIES: dict[str, tuple[str, Callable[[DistillConfig], bool]]] = {
    "layer_map": ("--student distil (the teacher layers it copies)", lambda s: s.student == "distil"),
    "prune_vocabulary": ("--student distil (the vocabulary it cuts)", lambda s: s.student == "distil"),
    "ffn_dim": ("--student distil (the feed-forward width it keeps)", lambda s: s.student == "distil"),
    "teacher_init": ("--student distil (the row cut from the fine-tuned teacher)", lambda s: s.student == "distil"),
    "teacher_epochs": ("a --teacher fine-tuned first (a preset or a pretraining run)", lambda s: _fine_tunes(s)),
    "teacher_learning_rate": ("a --teacher fine-tuned first (a preset or a pretraining run)", lambda s: _fine_tunes(s)),
    "teacher_seed": ("a --teacher fine-tuned first (a preset or a pretraining run)", lambda s: _fine_tunes(s)),
    "teacher_steps": ("a --teacher fine-tuned first (a preset or a pretraining run)", lambda s: _fine_tunes(s)),
    "teacher_pooling": ("a --teacher fine-tuned first (a preset or a pretraining run)", lambda s: _fine_tunes(s)),
    "temperature_end": ("soft targets (--alpha_kd above 0)", lambda s: s.alpha_kd > 0),
    "relation_heads": ("the relation loss (--alpha_relation above 0)", lambda s: s.alpha_relation > 0),
    "unlabeled_column": ("--unlabeled_file", lambda s: s.unlabeled_file is not None),
    "augment_copies": ("--augment", lambda s: bool(s.augment)),
}


def _fine_tunes(settings: DistillConfig) -> bool:
    """Whether a teacher is fine-tuned here first: a preset, or a pretraining run (teachers.plan_teacher)."""
    return any(name in PRESETS or ((Path(name) / RECORD).is_file() and read_record(name).recipe == "pretrain")
               for name in settings.teacher)


def check_applies(settings: DistillConfig) -> None:
    for option in fields(settings):
        if option.name not in APPLIES:
            continue
        default = option.default if option.default is not MISSING else option.default_factory()
        what, applies = APPLIES[option.name]
        if getattr(settings, option.name) != default and not applies(settings):
            raise UsageError(f"--{option.name} applies to {what} only, and does nothing here; leave it out")
