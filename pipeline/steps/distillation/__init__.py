"""Knowledge distillation: teachers, transfer set, students, losses, and the honest comparison.

- config:    DistillConfig, the recipe's options, checked where they are declared
- teachers:  a teacher fine-tuned first (or found finished), its soft targets cached on disk
- transfer:  the text the teacher labels that the labelled set does not have
- students:  the STUDENTS registry (bilstm, distil) and the initialisations they start from
- losses:    soft targets, hidden states across widths, MiniLM relations, as nn.Modules
- objective: the student's training step from those losses
- compare:   the paired test of the task type, interleaved timing, the comparison rows
- distiller: the run's state, and each row of the comparison as a stage of its own
"""

from .config import DistillConfig
from .distiller import Distiller

__all__ = ["DistillConfig", "Distiller"]
