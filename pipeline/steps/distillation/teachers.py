"""Teachers: fine-tuned first (or found finished) through the fine-tune stage, and their cached soft targets."""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from accelerate import Accelerator
from transformers import AutoConfig, PretrainedConfig

from ...harness.config import flat_config
from ...harness.data import DataSpec, Task, encode_rows
from ...harness.errors import UsageError
from ...harness.evaluation import predict_rows
from ...harness.finetuning import FINETUNE_OPTIONS, fine_tune
from ...harness.hub import hub_reachable
from ...harness.models import PRESETS, LoadedModel, ModelSpec, load_model, weights_digest
from ...harness.records import RunRecord, read_record
from ...harness.runs import RECORD, RunOptions, model_dir
from ...harness.tasks import TaskType, task_type
from ...harness.training import TrainConfig


# A teacher's fine-tune by task type, where the user gives nothing: what the benchmarks found a pretrained
# sentence encoder needs. MiniLM was trained to read a sentence from the mean of its tokens; a label set or a number
# read from [CLS] (its untrained pooler) stays at the label prior far longer (SemEval E-c, 1,000 rows, 4 epochs:
# test Jaccard 0.464 from [CLS], 0.512 from the mean). Label sets learn at twice the rate of single classes and
# for twice the steps: binary cross-entropy over many sigmoids first drives every output down, to the prior (the
# built-in set's teacher was still climbing after 320 steps: validation Jaccard 0.5662, 0.6942 after 480).
TEACHER_DEFAULTS: dict[str, dict] = {
    "single_label": {"learning_rate": 1e-4, "pooling": None, "steps": 320},
    "multi_label": {"learning_rate": 2e-4, "pooling": "mean", "steps": 640},
    "regression": {"learning_rate": 1e-4, "pooling": "mean", "steps": 320},
    "token_classification": {"learning_rate": 1e-4, "pooling": None, "steps": 320},  # a tag per word: no read-out
}
TEACHER_PATIENCE = 3  # epochs without a validation gain before the teacher's fine-tune stops
MAX_TEACHER_EPOCHS = 20


@dataclass(frozen=True)
class TeacherTraining:
    """How a teacher that is fine-tuned first is trained, each choice given or defaulted, and why."""

    model_spec: ModelSpec
    train_config: TrainConfig
    choices: dict[str, str]  # option -> the value and where it came from, printed and recorded


def teacher_training(task: Task, settings, *, cut_from_teacher: bool, train_config: TrainConfig,
                     max_length: int) -> TeacherTraining:
    """The teacher's fine-tune: the options given (`settings`, a DistillConfig), else the task type's defaults and a
    budget in optimizer steps (so 300 labelled rows and 30,000 get about as much training), stopping once validation
    stops improving."""
    kind = task.task_type.name
    defaults = TEACHER_DEFAULTS[kind]
    epochs, learning_rate, pooling = settings.teacher_epochs, settings.teacher_learning_rate, settings.teacher_pooling
    steps = settings.teacher_steps or defaults["steps"]
    per_epoch = math.ceil(len(task.splits["train"]) / TrainConfig.batch_size)
    budget = min(max(math.ceil(steps / per_epoch), 2), MAX_TEACHER_EPOCHS)
    # A DistilBERT cut from the fine-tuned teacher reads [CLS], so that teacher must read it too.
    read_out = pooling or (None if cut_from_teacher else defaults["pooling"])
    choices = {
        "epochs": f"{epochs} (given)" if epochs else (f"{budget} ({steps} optimizer steps at {per_epoch} an epoch, "
                                                      f"{2} to {MAX_TEACHER_EPOCHS}: --teacher_steps)"),
        "learning_rate": f"{learning_rate:g} (given)" if learning_rate else f"{defaults['learning_rate']:g} ({kind})",
        "early_stopping_patience": f"{TEACHER_PATIENCE} epochs without a validation gain",
    }
    if not task.task_type.reads_words:
        choices["pooling"] = (f"{pooling} (given)" if pooling else f"{read_out or 'family'} ("
                              + ("--student distil reads [CLS]" if cut_from_teacher and defaults["pooling"] else kind)
                              + ")")
    config = replace(TrainConfig(), epochs=epochs or budget, seed=settings.teacher_seed,
                     learning_rate=learning_rate or defaults["learning_rate"],
                     mixed_precision=train_config.mixed_precision, early_stopping_patience=TEACHER_PATIENCE,
                     early_stopping_threshold=train_config.early_stopping_threshold)
    return TeacherTraining(ModelSpec(max_length=max_length, pooling=read_out), config, choices)


@dataclass
class Teacher:
    loaded: LoadedModel
    id: str  # identifies the weights, for the soft-target cache
    record: RunRecord | None  # its run record, when it is a run
    pretrained: str | None  # the checkpoint it was fine-tuned from, when known


@dataclass(frozen=True)
class TeacherPlan:
    """How a named teacher is obtained, decided before anything trains."""

    name: str
    config: PretrainedConfig
    fine_tune: bool  # a preset, fine-tuned on the task first (or found finished)


def plan_teacher(name: str, head: dict) -> TeacherPlan:
    """Check a teacher name without training: a preset, a run folder (a pretraining run is fine-tuned
    first), a model directory or a hub id."""
    if name in PRESETS and not Path(name).exists():
        preset = PRESETS[name]
        config = AutoConfig.from_pretrained(preset.path()) if preset.path else preset.config(8000)
        return TeacherPlan(name, config, fine_tune=True)
    folder = Path(name)
    config_file = next((p for p in (model_dir(folder) / "config.json", folder / "config.json") if p.is_file()), None)
    if config_file is None:
        if folder.exists() or name.startswith((".", "/", "~", "outputs")) or name.count("/") > 1:
            raise UsageError(f"teacher '{name}' not found: it is no run folder or save_pretrained directory "
                             f"(no config.json); give a run under outputs/, a model directory, a preset or a hub id")
        if not hub_reachable():
            raise UsageError(f"teacher '{name}' is not a preset ({', '.join(PRESETS)}) or a local folder, and the "
                             "Hugging Face Hub is unreachable; give a run under outputs/ or a preset")
        return TeacherPlan(name, AutoConfig.from_pretrained(name), fine_tune=False)
    if (folder / RECORD).is_file() and read_record(folder).recipe == "pretrain":
        # A pretraining run is no classifier yet: fine-tuned on the task first, like a preset.
        family, kind = json.loads(config_file.read_text()).get("model_type"), task_type(head.get("task_type"))
        if family not in kind.families:
            raise UsageError(f"teacher '{name}' is a {family} model, which has no {kind.head_name} head")
        return TeacherPlan(name, AutoConfig.from_pretrained(config_file.parent), fine_tune=True)
    saved = json.loads(config_file.read_text())
    labels, label_names = list(saved.get("id2label", {}).values()), list(head["id2label"].values())
    problem = head.get("problem_type") or head["task_type"]
    saved_problem = saved.get("problem_type") or saved.get("task_type") or problem
    if labels != label_names or saved_problem != problem:
        raise UsageError(f"teacher '{name}' predicts {labels} ({saved_problem}) but the data's task is "
                         f"{label_names} ({problem}); distil on the data the teacher was trained for")
    return TeacherPlan(name, AutoConfig.from_pretrained(config_file.parent), fine_tune=False)


def teacher_config(data_spec: DataSpec, model_spec: ModelSpec, train_config: TrainConfig,
                   options: RunOptions) -> dict:
    """The config `recipes/finetune.py` records for the same fine-tune: built from its own option types
    (an option type it gains later takes its defaults here), so that teacher runs are always found."""
    given = {type(o): o for o in (data_spec, model_spec, train_config, replace(options, run_name=None, resume=False))}
    return flat_config([given[kind] if kind in given else kind() for kind in FINETUNE_OPTIONS])


def obtain_teacher(plan: TeacherPlan, task: Task, *, data_spec: DataSpec, model_spec: ModelSpec,
                   train_config: TrainConfig, options: RunOptions, accelerator: Accelerator) -> Teacher:
    """A preset is fine-tuned on the task first, unless a finished run of the same config exists (reused)."""
    if plan.fine_tune:
        config = teacher_config(data_spec, model_spec, train_config, options)
        record, loaded = fine_tune(task, model_spec, train_config=train_config,
                                   options=replace(options, run_name=None), accelerator=accelerator, config=config,
                                   reuse=True, title=f"teacher: fine-tune {plan.name} ({train_config.epochs} epochs)")
        if loaded is None:
            loaded = load_model(replace(model_spec, model=record.run_dir), task.head())
        return Teacher(loaded, weights_digest(model_dir(record.run_dir)), record, plan.name)
    accelerator.print(f"\n=== stage: teacher: {plan.name}")
    loaded = load_model(replace(model_spec, model=plan.name), task.head())
    folder = Path(plan.name)
    record = read_record(folder) if (folder / RECORD).is_file() else None
    pretrained = record.config.get("model") if record else None
    weights = model_dir(folder) if model_dir(folder).is_dir() else folder
    return Teacher(loaded, weights_digest(weights) if weights.is_dir() else plan.name, record, pretrained)


def soft_targets(teacher: Teacher, rows, *, kind: TaskType, max_length: int, batch_size: int,
                 accelerator: Accelerator, cache_dir: Path) -> np.ndarray:
    """The teacher's logits for every row (`text`, maybe `text_pair`; a tagger's per word of `tokens`), computed
    once and cached on disk.

    The key is the teacher's weights and the exact token ids, so new text or another teacher never
    hits a stale entry.
    """
    encoded = encode_rows(rows, teacher.loaded.tokenizer, max_length, kind=kind)
    digest = hashlib.sha256(teacher.id.encode())
    digest.update(np.concatenate([np.asarray(ids, dtype=np.int64) for ids in encoded["input_ids"]]).tobytes())
    digest.update(np.asarray([len(ids) for ids in encoded["input_ids"]], dtype=np.int64).tobytes())
    path = cache_dir / f"{digest.hexdigest()[:24]}.npy"
    if path.is_file():
        accelerator.print(f"soft targets: {len(rows):,} rows from the cache")
        return np.load(path, allow_pickle=False)
    accelerator.print(f"soft targets: the teacher labels {len(rows):,} rows")
    logits = predict_rows(teacher.loaded.model.to(accelerator.device), encoded.remove_columns("labels"),
                          collate=kind.collator(teacher.loaded.tokenizer), batch_size=batch_size,
                          accelerator=accelerator)
    if accelerator.is_main_process:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(staging, logits)
        os.replace(staging, path)
    return logits
