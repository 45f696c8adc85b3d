"""Fine-tuning as one step other recipes can take too (distillation fine-tunes its teacher this way)."""

from __future__ import annotations

from typing import Callable

from accelerate import Accelerator

from .cards import pretrained_writer
from .data import DataSpec, Task, encode
from .evaluation import evaluate_test, trivial_line, versus_trivial
from .models import LoadedModel, ModelSpec, load_model
from .records import RunRecord, build_record, finish_run, read_record
from .runs import Run, RunOptions
from .stages import Stage, run_stage
from .training import TrainConfig, remove_checkpoints, task_loss, task_validation, train

# The options that identify a fine-tune: the finetune recipe parses these, and distillation builds
# its teacher's config from the same types, so a teacher run is found whatever flags are added.
FINETUNE_OPTIONS = (DataSpec, ModelSpec, TrainConfig, RunOptions)


def fine_tune(task: Task, model_spec: ModelSpec, *, train_config: TrainConfig, options: RunOptions,
              accelerator: Accelerator, config: dict, reuse: bool = False, only_stage: bool = False,
              title: str = "fine-tune") -> tuple[RunRecord, LoadedModel | None]:
    """Build the model, train it with the best validation epoch kept, evaluate on test, record the run.

    With `reuse`, a finished run of the same config is returned instead (and no model is built);
    `only_stage`: the recipe is this fine-tune alone, so --resume needs an unfinished run of it.
    """
    loaded = []

    def prepare() -> None:
        with accelerator.main_process_first():  # scratch presets train (and cache) their tokenizer once
            loaded.append(load_model(model_spec, task.head(), task.splits["train"]["text"]))

    def body(run: Run, resume: bool) -> RunRecord:
        encoded = encode(task, loaded[0].tokenizer, model_spec.max_length)
        return train_and_record(run, loaded[0], task, encoded, train_config=train_config, accelerator=accelerator,
                                resume=resume, max_length=model_spec.max_length, recipe="finetune",
                                method="finetune")

    record = run_stage(Stage(title, "finetune", [model_spec.model, task.name], config), body, options=options,
                       accelerator=accelerator, reuse=reuse, prepare=prepare, only_stage=only_stage)
    return record, (loaded[0] if loaded else None)


def train_and_record(run: Run, loaded: LoadedModel, task: Task, encoded, *, train_config: TrainConfig,
                     accelerator: Accelerator, resume: bool, max_length: int, recipe: str, method: str,
                     train_set=None, loss_fn: Callable | None = None, extra_modules: tuple = (),
                     collate: Callable | None = None, finish: Callable | None = None, **extra) -> RunRecord:
    """Train on `train_set` (default: encoded['train']), evaluate on encoded['test'], save model and record.

    `loss_fn` defaults to the task's own (training.task_loss: weighted per class with --class_weights).
    `finish(run, record, folder)` runs after the model folder is saved and before the record is
    written: a step that adds to the record what it measures on the saved model (e.g. exports).
    """
    collate = collate or task.task_type.collator(loaded.tokenizer)
    training = train(loaded.model, encoded["train"] if train_set is None else train_set, encoded["validation"],
                     collate=collate, config=train_config, accelerator=accelerator, run_dir=run.dir,
                     validation=task_validation(task), resume=resume,
                     loss_fn=loss_fn or task_loss(task), extra_modules=extra_modules)
    if training.decisions is not None:  # the guard: did the best epoch learn more than the trivial guess?
        extra["trivial"] = versus_trivial(task, training.decisions, seed=train_config.seed)
        accelerator.print("guard: the model " + trivial_line(extra["trivial"], task.task_type))
    metrics, predictions = evaluate_test(loaded.model, loaded.tokenizer, encoded, task, collate=collate,
                                         accelerator=accelerator, batch_size=train_config.eval_batch_size,
                                         max_length=max_length, seed=train_config.seed)
    record = build_record(run, task, recipe=recipe, method=method, model_info=loaded.info, metrics=metrics,
                          training=training, accelerator=accelerator, seed=train_config.seed, **extra)
    if accelerator.is_main_process:
        finish_run(run, record, predictions=predictions, task=task,
                   write=pretrained_writer(accelerator.unwrap_model(loaded.model), loaded.tokenizer, record,
                                           state_dict=training.state_dict),
                   finish=finish)
    if not train_config.keep_checkpoints:
        remove_checkpoints(run.dir, accelerator)
    accelerator.wait_for_everyone()  # the run's files exist for every process once this returns
    if not accelerator.is_main_process:  # what `finish` added on the main process is in the written record
        record = read_record(run.dir)
    return record
