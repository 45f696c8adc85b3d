"""Fine-tuning as one step other recipes can take too (distillation fine-tunes its teacher this way)."""

from __future__ import annotations

from typing import Callable

from accelerate import Accelerator
from transformers import DataCollatorWithPadding

from .data import Task, encode
from .evaluation import evaluate_test
from .models import LoadedModel, ModelSpec, load_model
from .records import (Run, RunOptions, build_record, folder_size_mb, save_model, start_run, write_predictions,
                      write_record)
from .training import TrainConfig, default_loss, remove_checkpoints, train


def fine_tune(task: Task, model_spec: ModelSpec, train_config: TrainConfig, options: RunOptions,
              accelerator: Accelerator, config: dict, recipe: str = "finetune") -> tuple[dict, LoadedModel]:
    """Build the model, train it with the best validation epoch kept, evaluate on test, record the run."""
    with accelerator.main_process_first():  # scratch presets train (and cache) their tokenizer once
        loaded = load_model(model_spec, task.label_names, task.splits["train"]["text"])
    encoded = encode(task, loaded.tokenizer, model_spec.max_length)
    run = start_run(options, recipe, [model_spec.model, task.name], config, accelerator)
    record = train_and_record(run, loaded, task, encoded["train"], encoded, train_config, accelerator,
                              options.resume, model_spec.max_length, recipe=recipe, method="finetune")
    return record, loaded


def train_and_record(run: Run, loaded: LoadedModel, task: Task, train_set, encoded, train_config: TrainConfig,
                     accelerator: Accelerator, resume: bool, max_length: int, recipe: str, method: str,
                     loss_fn: Callable = default_loss, extra_modules: tuple = (), collate: Callable | None = None,
                     **extra) -> dict:
    """Train on `train_set`, evaluate on encoded['test'], save model and record; returns the record."""
    collate = collate or DataCollatorWithPadding(loaded.tokenizer)
    training = train(loaded.model, train_set, encoded["validation"], collate, train_config, accelerator, run.dir,
                     task.label_names, resume=resume, loss_fn=loss_fn, extra_modules=extra_modules)
    metrics, predictions = evaluate_test(loaded.model, loaded.tokenizer, encoded["test"], task, collate, accelerator,
                                         train_config.eval_batch_size, max_length, train_config.seed)
    record = build_record(run, recipe, method, task, loaded.info, metrics, training, accelerator,
                          train_config.seed, **extra)
    if accelerator.is_main_process:
        record["size_mb"] = folder_size_mb(save_model(run, accelerator.unwrap_model(loaded.model),
                                                      loaded.tokenizer, record))
        write_predictions(run, predictions, task.label_names)
        write_record(run, record)
    if not train_config.keep_checkpoints:
        remove_checkpoints(run.dir, accelerator)
    return record
