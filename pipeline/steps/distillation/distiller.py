"""The distillation run: one object holds the task, the options, the teachers and their soft targets,
and trains each row of the comparison as a stage of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
from accelerate import Accelerator
from datasets import Dataset, concatenate_datasets

from ...harness.data import DataSpec, Task, encode, encode_rows, joined_texts, load_texts
from ...harness.cards import model_card
from ...harness.errors import UsageError
from ...harness.evaluation import (decide_validation, evaluate_test, joined, model_predictor, predict_rows, score,
                                   trivial_line, versus_trivial)
from ...harness.finetuning import train_and_record
from ...harness.heads import FAMILY, load_classifier
from ...harness.models import CACHE, ModelSpec, load_tokenizer
from ...harness.records import RunRecord, read_record, write_record
from ...harness.runs import Run, RunOptions, folder_size_mb, model_dir, read_predictions, run_base, run_folders
from ...harness.stages import Stage, run_stage
from ...harness.training import TrainConfig
from ...predictor import load_predictor
from ..export import export_onnx
from .compare import comparison_rows, fastest_near_teacher, interleaved_speed, plot_students
from .config import DistillConfig
from .losses import INTERMEDIATE_LOSSES, SoftTargetLoss
from .objective import QKV_MODULES, DistillationObjective, teacher_ids
from .students import StudentRecipe, build_student, check_student, student_kind
from .teachers import (Teacher, TeacherPlan, obtain_teacher, plan_teacher, soft_targets, teacher_config,
                       teacher_training)
from .transfer import TransferSet, build_transfer_set


@dataclass(frozen=True)
class Variant:
    """One student row: how it is initialised and whether it learns from the teacher."""

    name: str
    method: str
    distilled: bool
    from_teacher: bool = False


LABELS_ONLY = Variant("student, labels only", "hard-labels", distilled=False)
DISTILLED = Variant("student, distilled", "distill", distilled=True)
FROM_TEACHER = Variant("student from the fine-tuned teacher, distilled", "distill-teacher-init", distilled=True,
                       from_teacher=True)


class Distiller:
    """State shared by the stages of one distillation; the recipe calls its steps in order."""

    def __init__(self, task: Task, *, data_spec: DataSpec, model_spec: ModelSpec, train_config: TrainConfig,
                 settings: DistillConfig, options: RunOptions, accelerator: Accelerator, config: dict):
        self.task, self.data_spec, self.model_spec, self.train_config = task, data_spec, model_spec, train_config
        self.settings, self.options, self.accelerator, self.config = settings, options, accelerator, config
        self.kind = student_kind(settings.student)
        self.plans = self._check()
        self.teacher_training = teacher_training(
            task, settings, cut_from_teacher=self.kind.from_teacher is not None and settings.teacher_init,
            train_config=train_config, max_length=model_spec.max_length)
        if any(plan.fine_tune for plan in self.plans):
            accelerator.print("teacher fine-tune: " + "; ".join(
                f"{option} {value}" for option, value in self.teacher_training.choices.items()))
        self.teachers: list[Teacher] = []
        self.transfer: TransferSet | None = None
        self.logits: np.ndarray | None = None
        self.records: dict[str, RunRecord] = {}
        self.teacher_test: tuple[dict, np.ndarray] | None = None
        self.teacher_guard: dict | None = None  # the lead teacher against the trivial guess (evaluation.versus_trivial)

    def _check(self) -> list[TeacherPlan]:
        """Every option against the data and the teachers' configs, before anything trains."""
        settings, task = self.settings, self.task
        if settings.augment and not settings.augment_copies:
            raise UsageError("--augment needs --augment_copies of at least 1")
        if settings.unlabeled_file and task.is_pair:
            raise UsageError("--unlabeled_file gives single texts, and this data set has sentence pairs; its "
                             "left-out train pairs make the transfer set (--max_train_samples)")
        if settings.unlabeled_file and not Path(settings.unlabeled_file).is_file():
            raise UsageError(f"--unlabeled_file '{settings.unlabeled_file}' does not exist; check the path")
        if settings.unlabeled_file and not load_texts(settings.unlabeled_file, settings.unlabeled_column):
            size = Path(settings.unlabeled_file).stat().st_size
            raise UsageError(f"--unlabeled_file '{settings.unlabeled_file}' holds no text ({size} bytes, no line or "
                             "cell with anything but spaces); give a file of unlabelled texts")
        if settings.generated != DistillConfig.generated and (self.data_spec.dataset != "builtin"
                                                              or self.data_spec.train_file):
            raise UsageError("--generated applies to --dataset builtin only (its generator), and does nothing "
                             "here; leave it out")
        if task.task_type.reads_words and settings.teacher_pooling:
            raise UsageError("--teacher_pooling chooses how a text's label is read, and a tagger reads a tag at every "
                             "word; leave it out")
        if settings.teacher_epochs and settings.teacher_steps:
            raise UsageError("--teacher_steps sets the teacher's budget when --teacher_epochs is not given; give one "
                             "of the two")
        if task.task_type.reads_words and settings.student != "bilstm":
            raise UsageError(f"--student {settings.student} classifies texts; tagging words distils into the "
                             "BiLSTM tagger (--student bilstm)")
        if settings.student == "distil" and self.model_spec.pooling not in (None, FAMILY):
            raise UsageError(f"--pooling {self.model_spec.pooling} does not apply to --student distil: the DistilBERT "
                             "it cuts reads [CLS], as its teacher does")
        plans = [plan_teacher(name, task.head()) for name in settings.teacher]
        lead = plans[0].config
        check_student(settings.student, lead, layer_map=settings.layer_map, ffn_dim=settings.ffn_dim)
        if settings.deep:
            if settings.student != "distil":
                raise UsageError("hidden-state and relation losses need a transformer student that reads the "
                                 "teacher's tokens ('distil'); set --alpha_cos/--alpha_mse/--alpha_relation to 0")
            if settings.alpha_relation:
                if lead.model_type not in QKV_MODULES:
                    raise UsageError(f"the relation loss does not know where a '{lead.model_type}' teacher keeps "
                                     f"its attention; it supports {', '.join(QKV_MODULES)}")
                if lead.hidden_size % settings.relation_heads:
                    raise UsageError(f"--relation_heads {settings.relation_heads} does not divide the teacher's "
                                     f"width {lead.hidden_size}")
        return plans

    # 1. Teachers.
    def obtain_teachers(self) -> list[Teacher]:
        teacher_spec, teacher_train = self.teacher_training.model_spec, self.teacher_training.train_config
        self._check_resume(teacher_spec, teacher_train)
        self.teachers = [obtain_teacher(plan, self.task, data_spec=self.data_spec,
                                        model_spec=replace(teacher_spec, model=plan.name), train_config=teacher_train,
                                        options=self.options, accelerator=self.accelerator) for plan in self.plans]
        self.teacher_test = self._score_teacher(self.teachers[0])
        metric = self.task.task_type.main_metric
        scored = "validation (--no_test)" if self.data_spec.no_test else "test"
        self.accelerator.print(f"teacher: {scored} {metric} {self.teacher_test[0][metric]:.4f}")
        self._guard(self.teachers[0])
        return self.teachers

    def _guard(self, teacher: Teacher) -> None:
        """Stop before distilling a teacher that did not beat the trivial guess on validation: its soft targets
        would teach the student that guess, and the table would look like a result (--no_teacher_guard: go on)."""
        found = teacher.record.extra.get("trivial") if teacher.record else None
        if found is None:  # a model folder or hub id, or a run recorded before the guard: its validation scored here
            loaded, kind = teacher.loaded, self.task.task_type
            encoded = encode(self.task, loaded.tokenizer, self.model_spec.max_length)["validation"]
            outputs = kind.outputs(predict_rows(loaded.model.to(self.accelerator.device), encoded,
                                                collate=kind.collator(loaded.tokenizer), accelerator=self.accelerator,
                                                batch_size=self.train_config.eval_batch_size))
            references = kind.references(self.task.splits["validation"]["label"])
            decisions, _ = decide_validation(self.task, outputs, references)
            found = versus_trivial(self.task, {"predictions": decisions, "references": references})
        self.teacher_guard = found
        line = trivial_line(found, self.task.task_type)
        if not found["validation"]["learned"] and self.settings.teacher_guard:
            raise UsageError(f"the teacher {line}; its soft targets would teach the student that guess. Try more "
                             "--teacher_epochs, another --teacher_learning_rate, --class_weights balanced or more "
                             "labelled rows (--max_train_samples); --no_teacher_guard distils it anyway")
        self.accelerator.print(f"teacher {line}" + ("" if found["validation"]["learned"] else
                                                    " (--no_teacher_guard: distilled anyway)"))

    def _check_resume(self, teacher_spec: ModelSpec, teacher_train: TrainConfig) -> None:
        """--resume continues a distillation wherever it stopped; with no run of any of its stages, it is refused."""
        if not self.options.resume:
            return
        teachers = replace(self.options, run_name=None)  # as obtain_teacher names their runs
        bases = [run_base(teachers, "finetune", [plan.name, self.task.name], teacher_config(
            self.data_spec, replace(teacher_spec, model=plan.name), teacher_train, self.options))
                 for plan in self.plans if plan.fine_tune]
        bases += [run_base(self.options, "distill", [self.settings.student, variant.method, self.task.name],
                           {**self.config, "method": variant.method}) for variant in self.variants()]
        if not any(run_folders(Path(self.options.output_dir), base) for base in bases):
            raise UsageError(f"--resume: nothing to resume: no run of this distillation ({', '.join(bases)}) under "
                             f"{self.options.output_dir}; run without --resume to start afresh")

    def _score_teacher(self, teacher: Teacher) -> tuple[dict, np.ndarray]:
        """The lead teacher's test metrics and predictions: from its run when it was scored on this test set and
        decided as this run decides (the task type's options: a multi-label threshold)."""
        record, task = teacher.record, self.task
        decided_alike = record and all(record.task["source"].get(option) == task.source.get(option)
                                       for option in task.task_type.options)
        if decided_alike and record.task.get("evaluation_fingerprint") == task.describe()["evaluation_fingerprint"]:
            return record.metrics, read_predictions(record.run_dir, task.label_names, task.task_type)
        loaded, max_length = teacher.loaded, self.model_spec.max_length
        return evaluate_test(loaded.model.to(self.accelerator.device), loaded.tokenizer,
                             encode(task, loaded.tokenizer, max_length), task,
                             collate=task.task_type.collator(loaded.tokenizer), accelerator=self.accelerator,
                             batch_size=self.train_config.eval_batch_size, max_length=max_length)

    # 2. Transfer set and soft targets.
    def label_transfer_set(self) -> TransferSet:
        lead = self.teachers[0].loaded
        self.transfer = build_transfer_set(self.task, self.data_spec, self.settings, teacher_tokenizer=lead.tokenizer,
                                           teacher_embeddings=lead.model.get_input_embeddings().weight.detach(),
                                           seed=self.train_config.seed)
        self.accelerator.print("\n=== stage: soft targets\ntransfer set: " + (", ".join(
            f"{count:,} from {source}" for source, count in self.transfer.sources.items()) or "none"))
        rows = self._rows()
        logits = [soft_targets(teacher, rows, kind=self.task.task_type, max_length=self.model_spec.max_length,
                               batch_size=self.train_config.eval_batch_size, accelerator=self.accelerator,
                               cache_dir=CACHE / "teacher-logits") for teacher in self.teachers]
        if logits[0].ndim == 3:  # per word: teachers that truncate long sentences apart keep different widths
            width = max(teacher.shape[1] for teacher in logits)
            logits = [np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0)), constant_values=np.nan) for t in logits]
        self.logits = np.stack(logits, axis=1)
        epochs = self._student_config().epochs
        self.accelerator.print(f"student: {epochs} epochs over {len(rows):,} rows" + (
            f" (at least --student_steps {self.settings.student_steps} optimizer steps; --epochs "
            f"{self.train_config.epochs})" if epochs > self.train_config.epochs else ""))
        return self.transfer

    def _rows(self) -> Dataset:
        """Labelled rows, then transfer rows (the first row's label as a placeholder: their hard weight is 0); with
        `text_pair` on sentence-pair data, so that teacher and student read what the test gives them; a tagger's
        with their words (`tokens`) and a tag per word."""
        pair, words = self.task.is_pair, self.task.task_type.reads_words
        columns = ["text", *(["text_pair"] if pair else []), *(["tokens"] if words else []), "label"]
        labelled = self.task.splits["train"].select_columns(columns)
        texts, pairs = zip(*self.transfer.inputs) if self.transfer.inputs else ((), ())
        split = [[word for word, _, _ in self.task.task_type.words(text)] for text in texts] if words else []
        transfer = Dataset.from_dict({"text": list(texts), **({"text_pair": list(pairs)} if pair else {}),
                                      **({"tokens": split} if words else {}),
                                      "label": [[0] * len(w) for w in split] if words else
                                      [labelled[0]["label"]] * len(texts)}, features=labelled.features)
        return concatenate_datasets([labelled, transfer])

    # 3. Students.
    def variants(self) -> list[Variant]:
        """Rows to train, the distilled student last (its record holds the export and the comparison)."""
        rows = [LABELS_ONLY] if self.settings.ablation else []
        if self.settings.teacher_init and self.kind.from_teacher:
            rows.append(FROM_TEACHER)
        return rows + [DISTILLED]

    def train_student(self, variant: Variant) -> dict:
        stage = Stage(variant.name, "distill", [self.settings.student, variant.method, self.task.name],
                      {**self.config, "method": variant.method})
        built = []

        def prepare() -> None:
            built.append(build_student(self.kind, self._recipe(), seed=self.train_config.seed,
                                       from_teacher=variant.from_teacher))

        record = run_stage(stage, lambda run, resume: self._train(variant, built[0], run, resume),
                           options=self.options, accelerator=self.accelerator, reuse=self.options.resume,
                           prepare=prepare)
        self.records[variant.name] = record
        return record

    def _recipe(self) -> StudentRecipe:
        lead = self.teachers[0]
        rows = self._rows()
        texts = [*rows["text"], *(rows["text_pair"] if self.task.is_pair else [])]
        return StudentRecipe(lead.loaded, lead.pretrained, texts, self.task.head(), self.model_spec,
                             self.settings.layer_map, prune_vocabulary=self.settings.prune_vocabulary,
                             ffn_dim=self.settings.ffn_dim, pairs=self.task.is_pair)

    def _train(self, variant: Variant, student, run: Run, resume: bool) -> RunRecord:
        student.info.update(name=self.settings.student)
        encoded = encode(self.task, student.tokenizer, self.model_spec.max_length)
        extra = {"teachers": [{"id": t.id, "run_id": t.record.run_id if t.record else None} for t in self.teachers],
                 "variant": variant.name,
                 **({"teacher_training": self.teacher_training.choices} if any(p.fine_tune for p in self.plans)
                    else {})}
        if not variant.distilled:
            return train_and_record(run, student, self.task, encoded, train_config=self._same_steps(),
                                    accelerator=self.accelerator, resume=resume,
                                    max_length=self.model_spec.max_length, recipe="distill", method=variant.method,
                                    budget="as many optimizer steps as the distilled student at most (stopping "
                                           "early as --early_stopping_patience says), best epoch kept",
                                    **extra)
        objective = self._objective(student)
        return train_and_record(run, student, self.task, encoded, train_config=self._student_config(),
                                accelerator=self.accelerator, resume=resume, max_length=self.model_spec.max_length,
                                recipe="distill", method=variant.method, train_set=self._soft_train_set(student),
                                loss_fn=objective, extra_modules=objective.modules,
                                transfer=self.transfer.sources, **extra)

    def _student_config(self) -> TrainConfig:
        """The distilled student's: --epochs over the labelled and transfer rows, or more where that is fewer than
        --student_steps optimizer steps (a small transfer set: STS-B's 3,800 pairs are 60 steps an epoch)."""
        batch = self.train_config.batch_size * self.train_config.gradient_accumulation_steps
        per_epoch = math.ceil(len(self._rows()) / batch)
        return replace(self.train_config, epochs=max(self.train_config.epochs,
                                                     math.ceil(self.settings.student_steps / per_epoch)))

    def _same_steps(self) -> TrainConfig:
        """Labels only: as many optimizer steps as the distilled student takes (more epochs over fewer rows)."""
        batch = self.train_config.batch_size * self.train_config.gradient_accumulation_steps
        distilled_steps = math.ceil(len(self._rows()) / batch) * self._student_config().epochs
        labelled_steps = math.ceil(len(self.task.splits["train"]) / batch)
        return replace(self.train_config, epochs=math.ceil(distilled_steps / labelled_steps))

    def _soft_train_set(self, student) -> Dataset:
        """Labelled and transfer rows in the student's tokens, each with its soft targets and hard-label weight."""
        rows = encode_rows(self._rows(), student.tokenizer, self.model_spec.max_length, kind=self.task.task_type,
                           all_pieces=bool(self.task.source.get("label_all_tokens")))
        labelled = len(self.task.splits["train"])
        weights = [1.0] * labelled + [0.0] * (len(rows) - labelled)
        return rows.add_column("teacher_logits", self.logits.tolist()).add_column("hard_weight", weights)

    def _objective(self, student) -> DistillationObjective:
        settings, teacher = self.settings, self.teachers[0].loaded.model
        soft = SoftTargetLoss(self.task.task_type, temperature=settings.temperature, temperature_end=settings.temperature_end,
                              alpha_kd=settings.alpha_kd, alpha_hard=settings.alpha_hard,
                              class_weights=self.task.class_weights and self.task.class_weights.tensor())
        intermediate = tuple((loss.reads, loss.build(settings, student.model, teacher))
                             for loss in INTERMEDIATE_LOSSES.values() if loss.active(settings))
        if not intermediate:  # soft targets only: the teacher's logits are cached, the teacher need not run
            return DistillationObjective(soft)
        return DistillationObjective(soft, teacher=teacher.to(self.accelerator.device).eval(), intermediate=intermediate,
                                     teacher_ids=teacher_ids(student.tokenizer, self.teachers[0].loaded.tokenizer))

    # 4. The export of the distilled student, read from its run.
    def export_student(self) -> None:
        """The distilled student as ONNX and int8 ONNX (under its model folder), each scored on the test split, in
        its record and card; a record that has them (a reused run) is kept as it is. One process writes, the others
        wait and read what it wrote."""
        record = self.records[DISTILLED.name]
        if not self.settings.export or "exports" in record.extra:
            return
        self.accelerator.print("\n=== stage: export (ONNX, int8 ONNX)")
        if self.accelerator.is_main_process:
            folder, exports = model_dir(record.run_dir), {}
            model, tokenizer = load_classifier(folder).eval(), load_tokenizer(str(folder))
            for export, path in export_onnx(model, tokenizer, folder / "onnx").items():
                metrics, _ = self._scored(load_predictor(record.run_dir, export=export).outputs, record)
                metric = self.task.task_type.main_metric
                exports[export] = {"path": str(path), "size_mb": path.stat().st_size / 1e6, "metric": metric,
                                   metric: metrics[metric], "change": metrics[metric] - record.metrics[metric],
                                   "metrics": metrics}
            record.extra["exports"] = exports
            model_card(record).save(folder / "README.md")  # now with how to run each export
            write_record(record)
        self._reread(DISTILLED)

    # 5. The comparison: every row read from the runs the stages before wrote.
    def compare(self) -> RunRecord:
        """Teacher, students and exports on the same test sentences: the paired test against the labels-only twin,
        size, and speed timed in interleaved rounds; kept in the distilled student's record, with students.png
        (quality against latency) and the line naming the fastest model within one point of the teacher. A record
        that has a comparison (a reused run) is kept as it is."""
        record = self.records[DISTILLED.name]
        if "comparison" in record.extra:
            return record
        self.accelerator.print("\n=== stage: comparison (teacher, students and exports on the test split, timed "
                               "side by side)")
        if self.accelerator.is_main_process:
            task, kind, lead = self.task, self.task.task_type, self.teachers[0]
            teacher_metrics, teacher_predictions = self.teacher_test
            rows = [{"model": "teacher", "init": lead.pretrained, "predictions": teacher_predictions,
                     "metrics": teacher_metrics, "parameters": lead.loaded.info["parameters"],
                     "size_mb": folder_size_mb(model_dir(lead.record.run_dir)) if lead.record else None}]
            predictors = {"teacher": model_predictor(lead.loaded.model, lead.loaded.tokenizer, self.accelerator.device,
                                                     self.model_spec.max_length, kind=kind)}
            for name, other in self.records.items():
                rows.append({"model": name, "init": other.model.get("init"), "metrics": other.metrics,
                             "predictions": read_predictions(other.run_dir, task.label_names, kind),
                             "parameters": other.parameters, "size_mb": other.size_mb})
                predictors[name] = load_predictor(other.run_dir).outputs
            for export, found in record.extra.get("exports", {}).items():
                name = f"{DISTILLED.name}, {export}"
                predictors[name] = load_predictor(record.run_dir, export=export).outputs
                rows.append({"model": name, "init": "export", "metrics": found["metrics"],
                             "predictions": self._scored(predictors[name], record)[1],
                             "parameters": record.parameters, "size_mb": found["size_mb"]})
            speed = interleaved_speed(predictors, joined_texts(task.splits["test"]))
            baseline = LABELS_ONLY.name if LABELS_ONLY.name in self.records else DISTILLED.name
            table = comparison_rows(rows, labels=kind.references(task.splits["test"]["label"]), kind=kind, speed=speed,
                                    baseline=baseline)
            distilled = next(row for row in table if row["model"] == DISTILLED.name)
            record.extra.update(comparison=table, teacher_metrics=teacher_metrics, teacher_guard=self.teacher_guard,
                                retention=distilled["retention"],
                                speedup=distilled["speedup"], speedup_batch1=distilled["speedup_batch1"],
                                smaller=distilled["smaller"], fastest_near_teacher=fastest_near_teacher(table))
            plot_students(table, Path(record.run_dir) / "students.png")
            write_record(record)
        return self._reread(DISTILLED)

    def _scored(self, outputs: Callable[[list[str]], np.ndarray], record: RunRecord) -> tuple[dict, np.ndarray]:
        """Test metrics and predictions of texts -> outputs, decided as `record`'s run decides (its threshold)."""
        texts = joined_texts(self.task.splits["test"])
        found = joined([outputs(texts[i:i + 256]) for i in range(0, len(texts), 256)])
        return score(found, self.task, threshold=record.metrics.get("threshold"))

    def _reread(self, variant: Variant) -> RunRecord:
        """A student's record as the main process rewrote it, in every process."""
        self.accelerator.wait_for_everyone()
        self.records[variant.name] = read_record(self.records[variant.name].run_dir)
        return self.records[variant.name]
