"""The training loop every neural recipe shares, on accelerate rather than the HF Trainer.

Devices, mixed precision and distribution come from the accelerate config (`accelerate launch`).
Resuming is exact: the sampler is seeded per epoch, `save_state` keeps the model, optimizer,
scheduler and RNG states, and the loop skips the batches it had already seen.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from accelerate import Accelerator, load_checkpoint_in_model
from accelerate.utils import DataLoaderConfiguration, DistributedType, ProjectConfiguration, set_seed
from torch import nn
from torch.utils.data import DataLoader, Sampler
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from .data import Task
from .data.encoding import length_order, token_counts
from .errors import UsageError, check_options
from .models import transformer_layers
from .tasks import ClassWeights, TaskType
from .evaluation import decide_validation, predict
from .runs import CHECKPOINTS


DECISIONS = "validation_decisions.npz"  # the best epoch's validation predictions, beside its weights
KEEP_CHECKPOINTS = 2  # the latest checkpoints kept while training (all of them with --keep_checkpoints)
# Called with (run folder, epoch, validation main metric) after each epoch's validation: what a hyperparameter search
# watches to stop a poor trial early (harness/search.py). Set with `epoch_listener`.
_LISTENERS: list[Callable[[Path, int, dict], None]] = []


@contextmanager
def epoch_listener(listener: Callable[[Path, int, dict], None]):
    """Within this block, every training loop tells `listener` each epoch's validation figure; an exception
    it raises (a pruned trial) ends the training there, its checkpoints kept."""
    _LISTENERS.append(listener)
    try:
        yield
    finally:
        _LISTENERS.remove(listener)


@dataclass
class TrainConfig:
    epochs: int = field(default=3, metadata={"help": "Passes over the training data."})
    batch_size: int = field(default=32, metadata={"help": "Examples per device per step."})
    eval_batch_size: int = field(default=64, metadata={"help": "Examples per device when evaluating."})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Batches per optimizer step."})
    learning_rate: float = field(default=5e-5, metadata={"help": "Peak AdamW learning rate."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay (not on biases and norms)."})
    warmup_ratio: float = field(default=0.1, metadata={"help": "Share of steps of linear warm-up."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm (0 turns it off)."})
    seed: int = field(default=42, metadata={"help": "Seed of initialisation, shuffling and dropout."})
    checkpoint_every: int = field(default=0, metadata={
        "help": "Save a resumable checkpoint every N optimizer steps (0: at epoch ends only)."})
    mixed_precision: str | None = field(default=None, metadata={
        "help": "no, fp16 or bf16; default: the accelerate config's choice."})
    report_to: str | None = field(default=None, metadata={"help": "An accelerate tracker, e.g. 'tensorboard'."})
    keep_checkpoints: bool = field(default=False, metadata={"help": "Keep checkpoints/ after a finished run."})
    early_stopping_patience: int = field(default=0, metadata={
        "help": "Stop after this many epochs without a validation gain (0: run every epoch)."})
    early_stopping_threshold: float = field(default=0.0, metadata={
        "help": "The least gain in the validation figure that counts as one."})

    def __post_init__(self):
        check_options([
            (self.epochs >= 1, f"--epochs must be at least 1 (got {self.epochs})"),
            (self.batch_size >= 1, f"--batch_size must be at least 1 (got {self.batch_size})"),
            (self.eval_batch_size >= 1, f"--eval_batch_size must be at least 1 (got {self.eval_batch_size})"),
            (self.gradient_accumulation_steps >= 1,
             f"--gradient_accumulation_steps must be at least 1 (got {self.gradient_accumulation_steps})"),
            (self.learning_rate > 0, f"--learning_rate must be positive (got {self.learning_rate})"),
            (self.weight_decay >= 0, f"--weight_decay must not be negative (got {self.weight_decay})"),
            (0 <= self.warmup_ratio < 1, f"--warmup_ratio must be in [0, 1) (got {self.warmup_ratio})"),
            (self.max_grad_norm >= 0, f"--max_grad_norm must not be negative (got {self.max_grad_norm})"),
            (self.checkpoint_every >= 0, f"--checkpoint_every must not be negative (got {self.checkpoint_every})"),
            (self.early_stopping_patience >= 0,
             f"--early_stopping_patience must not be negative (got {self.early_stopping_patience})"),
            (self.early_stopping_threshold >= 0,
             f"--early_stopping_threshold must not be negative (got {self.early_stopping_threshold})"),
            (self.mixed_precision in (None, "no", "fp16", "bf16"),
             f"--mixed_precision {self.mixed_precision!r}: choose no, fp16 or bf16"),
        ])


def make_accelerator(config: TrainConfig) -> Accelerator:
    """An Accelerator configured for exact resume; CPU-only machines use gloo for multi-process runs."""
    set_seed(config.seed)
    processes = int(os.environ.get("WORLD_SIZE", "1"))
    multi_cpu = not torch.cuda.is_available() and processes > 1
    if not torch.cuda.is_available():  # `accelerate launch` sets one thread unless told otherwise: use our share
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // processes))
    accelerator = Accelerator(
        cpu=multi_cpu,
        mixed_precision=config.mixed_precision,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        log_with=config.report_to,
        # Trackers need a folder now; start_run points it at the run folder before they start.
        project_config=ProjectConfiguration(project_dir=".", logging_dir="."),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=config.seed),
    )
    if accelerator.mixed_precision == "fp16" and accelerator.device.type == "cpu":
        # accelerate accepts it and then neither autocasts nor scales: float32 recorded as fp16.
        raise UsageError("--mixed_precision fp16 needs a GPU (on CPU accelerate would train in float32); "
                         "use bf16 or no")
    return accelerator


def make_loader(dataset, batch_size: int, *, collate: Callable, sampler: Sampler | None = None,
                seed: int = 0) -> DataLoader:
    # Its own generator: starting an iterator would otherwise draw from the global RNG that dropout
    # uses, and a resumed run starts one more iterator than an uninterrupted one.
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=SeededCollate(collate, seed),
                      generator=torch.Generator().manual_seed(seed))


class LengthGroupedSampler(Sampler):
    """Every row once per epoch in a seeded shuffle, with rows of similar length batched together.

    Padding a batch to its longest row costs work for nothing; on sentences of mixed lengths a
    random batch is mostly padding. The epoch's permutation (drawn from the seed and the epoch, so a
    resumed run draws it again) is cut into groups of `group` batches; each group is sorted by
    length and cut into batches, and the batches are shuffled, so lengths do not arrive in order.
    `batch_size` is the global batch (per-device batch times processes): accelerate deals out a
    loader's consecutive batches to the processes in turn, so one process and several train on the
    same global batches. Rows of one length (no `input_ids`) give a plain shuffle.
    """

    def __init__(self, lengths: np.ndarray, *, batch_size: int, seed: int, group: int = 16):
        self.lengths, self.batch_size, self.seed, self.group, self.epoch = lengths, batch_size, seed, group, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        permutation = torch.randperm(len(self.lengths), generator=generator).numpy()
        span = self.batch_size * self.group
        batches = []
        for start in range(0, len(permutation), span):
            rows = permutation[start:start + span]
            rows = rows[np.argsort(-self.lengths[rows], kind="stable")]
            batches += [rows[i:i + self.batch_size] for i in range(0, len(rows), self.batch_size)]
        last = [batches.pop()] if len(batches[-1]) < self.batch_size else []  # a short batch stays last
        shuffled = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()] + last
        return iter(np.concatenate(shuffled).tolist())


class SeededCollate:
    """Runs a collate function under a random state seeded by the batch's content.

    Collators that draw at random (masked and permutation LM masks) would otherwise draw from the
    global state, which accelerate's loader advances a batch ahead of training (it prefetches): a
    checkpoint would hold a state past the batch it saved after, and a resumed run would draw
    differently. Seeded by content, a batch gets the same draws whenever it is collated; batches
    differ every epoch (the shuffle does), so the draws do too. The global state is left as it was.
    """

    def __init__(self, collate: Callable, seed: int):
        self.collate, self.seed = collate, seed

    def __call__(self, rows: list) -> dict:
        # Token ids identify a row where it has them (cheaper than printing cached feature tensors).
        digest = hashlib.sha256(repr([r.get("input_ids", r) for r in rows]).encode()).digest()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int.from_bytes(digest[:7], "big") ^ self.seed)
            return self.collate(rows)


def default_loss(model, batch, progress: float) -> torch.Tensor:
    """The model's own loss (its problem_type's: cross-entropy, binary cross-entropy or squared error).
    `progress` (0 to 1) is unused here."""
    return model(**{k: v for k, v in batch.items() if k != "word_starts"}).loss  # where a tagger's words start


class ClassWeightedLoss(nn.Module):
    """The task type's loss on gold labels with each class's term weighted (--class_weights), averaged over rows.

    transformers' heads take no class weights (the Trainer's answer is "override compute_loss"), so the
    model gives logits and the task type's `hard_loss` weighs them: cross-entropy's per-class `weight`, or
    binary cross-entropy's `pos_weight` for label sets.

    Args:
        kind: the task type (harness/tasks.py).
        weights: one per class (ClassWeights), in label-id order.
    """

    def __init__(self, kind: TaskType, weights: ClassWeights):
        super().__init__()
        self.kind, self.weights = kind, weights.tensor()

    def forward(self, model, batch: dict, progress: float) -> torch.Tensor:
        logits = model(**{k: v for k, v in batch.items() if k not in ("labels", "word_starts")}).logits
        return self.kind.hard_loss(logits, batch["labels"], weights=self.weights.to(logits.device)).mean()


def task_loss(task: Task) -> Callable:
    """The training loss of `task`: the model's own, or weighted per class when the task has weights."""
    return default_loss if task.class_weights is None else ClassWeightedLoss(task.task_type, task.class_weights)


@dataclass
class Validation:
    """How the loop scores the model on the validation set after each epoch, and which score picks the best."""

    score: Callable[[torch.nn.Module, DataLoader, Accelerator], dict]
    metric: str
    higher_is_better: bool = True
    # The last scored epoch's decisions and the references they were scored against, where `score` keeps them
    # (task_validation's): the best epoch's are what the fine-tune guard tests against the trivial guess.
    decisions: dict[str, np.ndarray] | None = None

    def better(self, new: dict, best: dict | None, threshold: float = 0.0) -> bool:
        """Whether `new` beats `best` by more than `threshold` (any gain picks the best epoch; early
        stopping asks for more)."""
        if best is None:
            return True
        gain = new[self.metric] - best[self.metric] if self.higher_is_better else best[self.metric] - new[self.metric]
        return gain > threshold


def task_validation(task: Task) -> Validation:
    """The task type's validation scores (accuracy, macro F1, MCC; Jaccard and F1s; Pearson, Spearman, MSE),
    its main metric picking the best epoch. With --tune_threshold each epoch is judged at the threshold tuned
    on its own outputs, as the test will be: at a fixed 0.5 an early multi-label model predicts no label at
    all, every epoch ties at the same figure and the first is kept."""
    kind = task.task_type

    def scores(model, loader, accelerator) -> dict:  # the loader's rows are in the order predict returns
        outputs, references = kind.outputs(predict(model, loader, accelerator)), kind.encoded_references(loader.dataset)
        decisions, threshold = decide_validation(task, outputs, references)
        validation.decisions = {"predictions": decisions, "references": references}
        return {**kind.validation_scores(decisions, references),
                **({"threshold": threshold} if threshold is not None else {})}

    validation = Validation(scores, kind.main_metric)
    return validation


@dataclass
class TrainResult:
    history: list[dict]
    best_epoch: int
    best_validation: dict
    steps: int
    epoch_seconds: list[float]
    losses: list[float]  # training loss of every optimizer step, for the loss curve
    stopped: str  # why training ended: every epoch ran, or early stopping after which epoch
    # The best weights in full, gathered however the model is sharded (FSDP, ZeRO-3): what save_pretrained
    # writes on the main process. Without sharding these are the model's own tensors, not a copy.
    state_dict: dict = field(default_factory=dict, repr=False)
    # The best epoch's validation decisions and references (Validation.decisions), where the validation keeps them.
    decisions: dict[str, np.ndarray] | None = field(default=None, repr=False)


def train(model, train_set, validation_set, *, collate: Callable, config: TrainConfig, accelerator: Accelerator,
          run_dir: Path, validation: Validation, resume: bool = False,
          loss_fn: Callable = default_loss, extra_modules: tuple = ()) -> TrainResult:
    """Train, evaluate on validation every epoch, keep the best weights in `model`; checkpoints in run_dir.

    loss_fn(model, batch, progress) gets the share of optimizer steps done (0 to 1), restored on
    resume, so schedules inside a loss (temperature annealing) continue where they stopped.
    extra_modules are trained alongside the model (e.g. a projection inside the loss).
    """
    checkpoints = run_dir / CHECKPOINTS
    set_seed(config.seed)  # each training stage is reproducible whatever ran before it in the process
    # A checkpoint holds this stage's objects only: forget what earlier stages prepared.
    accelerator.free_memory()
    sampler = LengthGroupedSampler(token_counts(train_set), batch_size=config.batch_size * accelerator.num_processes,
                                   seed=config.seed)
    train_loader = make_loader(train_set, config.batch_size, collate=collate, sampler=sampler, seed=config.seed)
    eval_loader = make_loader(validation_set.select(length_order(validation_set)), config.eval_batch_size,
                              collate=collate, seed=config.seed)
    trainable = [model, *extra_modules]
    fsdp = accelerator.state.fsdp_plugin if accelerator.distributed_type == DistributedType.FSDP else None
    if fsdp is not None and not fsdp.transformer_cls_names_to_wrap:  # each family's own layers, one unit each
        fsdp.transformer_cls_names_to_wrap = transformer_layers(model)
    # The fused kernel updates every tensor in one pass (the default loops over them in Python).
    raw_optimizer = torch.optim.AdamW(_parameter_groups(trainable, config.weight_decay), lr=config.learning_rate,
                                      fused=True)
    *prepared, optimizer, train_loader, eval_loader = accelerator.prepare(
        *trainable, raw_optimizer, train_loader, eval_loader)
    model, extra = prepared[0], prepared[1:]
    # Stepped by hand once per optimizer step, so it is not prepared (accelerate would step it per process).
    total_steps = math.ceil(len(train_loader) / config.gradient_accumulation_steps) * config.epochs
    scheduler = get_linear_schedule_with_warmup(raw_optimizer, int(config.warmup_ratio * total_steps), total_steps)

    state = {"epoch": 0, "batch_in_epoch": 0, "step": 0, "history": [], "best": None, "epoch_seconds": [],
             "losses": [], "stale_epochs": 0, "stopped": None}
    if resume:
        latest = _latest_checkpoint(checkpoints)
        try:  # accelerate reads weights from safetensors, and the rest with torch's weights-only unpickler
            accelerator.load_state(str(latest))
        except pickle.UnpicklingError as error:
            raise UsageError(f"--resume: checkpoint {latest} holds something other than tensors and plain "
                             f"states, so it was not loaded ({str(error).splitlines()[0][:120]})") from None
        state = {"losses": [], "stale_epochs": 0, "stopped": None,
                 **json.loads((latest / "trainer_state.json").read_text())}
        scheduler.load_state_dict(state.pop("scheduler"))
        accelerator.print(f"resuming from {latest} (epoch {state['epoch'] + 1}, step {state['step']})")
    if config.report_to:
        accelerator.init_trackers(run_dir.name, {k: v for k, v in vars(config).items() if v is not None})

    def save_checkpoint():
        folder = checkpoints / f"step-{state['step']:07d}-e{state['epoch']}b{state['batch_in_epoch']}"
        accelerator.save_state(str(folder))
        if accelerator.is_main_process:
            # Written last and atomically: a checkpoint without it (killed mid-save) is never resumed from.
            staging = folder / "trainer_state.json.tmp"
            staging.write_text(json.dumps({**state, "scheduler": scheduler.state_dict()}))
            os.replace(staging, folder / "trainer_state.json")
            if not config.keep_checkpoints:
                for old in sorted(checkpoints.glob("step-*"))[:-KEEP_CHECKPOINTS]:
                    shutil.rmtree(old, ignore_errors=True)
        accelerator.wait_for_everyone()

    progress = tqdm(total=total_steps, initial=state["step"], desc="training",
                    disable=not accelerator.is_local_main_process)
    while state["epoch"] < config.epochs and state["stopped"] is None:
        epoch_start = time.perf_counter()
        loader = (accelerator.skip_first_batches(train_loader, state["batch_in_epoch"])
                  if state["batch_in_epoch"] else train_loader)
        loader.set_epoch(state["epoch"])  # seeds this epoch's shuffle (a skipping loader starts at epoch 0)
        model.train()
        for module in extra:
            module.train()
        for batch in loader:
            with accelerator.accumulate(model):
                loss = loss_fn(model, batch, state["step"] / total_steps)
                accelerator.backward(loss)
                norm = None
                if accelerator.sync_gradients and config.max_grad_norm:
                    norm = accelerator.clip_grad_norm_([p for m in (model, *extra) for p in m.parameters()],
                                                       config.max_grad_norm)
                if accelerator.sync_gradients and not _finite(accelerator, loss, norm):
                    progress.close()
                    raise UsageError(_diverged(state, loss, norm, config, accelerator, checkpoints, run_dir))
                optimizer.step()
                optimizer.zero_grad()
            state["batch_in_epoch"] += 1
            if accelerator.sync_gradients:
                scheduler.step()
                state["step"] += 1
                state["losses"].append(loss.item())
                progress.update(1)
                progress.set_postfix(loss=f"{state['losses'][-1]:.4f}")
                if config.report_to:
                    accelerator.log({"train/loss": state["losses"][-1], "train/lr": scheduler.get_last_lr()[0]},
                                    step=state["step"])
                if config.checkpoint_every and state["step"] % config.checkpoint_every == 0:
                    save_checkpoint()
        state["epoch_seconds"].append(time.perf_counter() - epoch_start)
        scores = validation.score(model, eval_loader, accelerator)
        state["history"].append({"epoch": state["epoch"] + 1, "step": state["step"], **scores})
        accelerator.print(f"epoch {state['epoch'] + 1}: validation {validation.metric} {scores[validation.metric]:.4f}")
        if config.report_to:
            accelerator.log({f"validation/{k}": v for k, v in scores.items()}, step=state["step"])
        # Patience counts epochs since the last gain worth the threshold, as transformers' EarlyStoppingCallback.
        state["stale_epochs"] = 0 if validation.better(scores, state["best"], config.early_stopping_threshold) else (
            state["stale_epochs"] + 1)
        if validation.better(scores, state["best"]):
            state["best"] = {"epoch": state["epoch"] + 1, **scores}
            accelerator.save_model(model, checkpoints / "best")
            if validation.decisions is not None and accelerator.is_main_process:  # kept for a resumed run too
                np.savez(checkpoints / "best" / DECISIONS, **validation.decisions)
        if config.early_stopping_patience and state["stale_epochs"] >= config.early_stopping_patience:
            state["stopped"] = (f"early stopping after epoch {state['epoch'] + 1}: no validation {validation.metric} "
                                f"gain above {config.early_stopping_threshold} in {state['stale_epochs']} epoch(s)")
            accelerator.print(state["stopped"])
        state["epoch"] += 1
        state["batch_in_epoch"] = 0
        save_checkpoint()
        for listener in _LISTENERS:
            listener(run_dir, state["epoch"], scores[validation.metric])
    progress.close()
    if config.report_to:
        accelerator.end_training()
    accelerator.wait_for_everyone()
    restore_weights(accelerator, model, checkpoints / "best")
    decisions = checkpoints / "best" / DECISIONS
    return TrainResult(state["history"], state["best"]["epoch"], state["best"], state["step"],
                       state["epoch_seconds"], state["losses"], state["stopped"] or f"all {config.epochs} epochs ran",
                       accelerator.get_state_dict(model),
                       decisions=dict(np.load(decisions)) if decisions.is_file() else None)


def _finite(accelerator: Accelerator, loss: torch.Tensor, norm) -> bool:
    """Whether every process saw a finite loss and gradient norm (fp16's scaler skips steps with inf
    gradients itself, so there the loss alone counts)."""
    if hasattr(norm, "full_tensor"):  # FSDP2 returns the norm as a DTensor
        norm = norm.full_tensor()
    norms = [] if norm is None or accelerator.mixed_precision == "fp16" else [torch.as_tensor(norm)]
    bad = torch.tensor([float(not all(torch.isfinite(x).all() for x in (loss.detach(), *norms)))],
                       device=accelerator.device)
    if accelerator.num_processes > 1:
        bad = accelerator.reduce(bad, "sum")
    return not bad.item()


def _diverged(state: dict, loss: torch.Tensor, norm, config: TrainConfig, accelerator: Accelerator,
              checkpoints: Path, run_dir: Path) -> str:
    """The one line a diverged run ends with; its last good checkpoint stays, a folder with none is removed."""
    seen = f"the loss is {loss.item()}" + (f" and the gradient norm {float(norm)}" if norm is not None else "")
    cause = ("fp16 overflowing (try bf16)" if accelerator.mixed_precision == "fp16"
             else f"a learning rate too high for this model (--learning_rate {config.learning_rate})")
    kept = sorted(p for p in checkpoints.glob("step-*") if (p / "trainer_state.json").is_file())
    accelerator.wait_for_everyone()
    if kept:
        where = f"; its last good checkpoint is kept ({kept[-1]})"
    else:
        where = "; it had no checkpoint yet, so its folder is removed"
        if accelerator.is_main_process:
            shutil.rmtree(run_dir, ignore_errors=True)
            try:  # an output folder this run made, now empty, goes too: nothing is left under it
                run_dir.parent.rmdir()
            except OSError:
                pass
    return (f"training diverged at optimizer step {state['step'] + 1} (epoch {state['epoch'] + 1}): {seen}; "
            f"likely cause: {cause}; no model or record was written{where}")


def restore_weights(accelerator: Accelerator, model, folder: Path) -> None:
    """Weights saved by `accelerator.save_model` (one full copy) back into the prepared `model`, on every process.

    Under FSDP2 the main process reads them and torch broadcasts each shard to its owner; under ZeRO-3
    the partitions are gathered, loaded on the main process and scattered again. These two paths follow
    torch's and DeepSpeed's documented APIs and have not run here (no GPU: README, "Scaling out").
    """
    unwrapped = accelerator.unwrap_model(model)
    if accelerator.is_fsdp2:
        from safetensors.torch import load_file
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

        full = ({k: v for f in sorted(folder.glob("*.safetensors")) for k, v in load_file(f).items()}
                if accelerator.is_main_process else {})
        set_model_state_dict(unwrapped, full, options=StateDictOptions(full_state_dict=True, broadcast_from_rank0=True,
                                                                        strict=False))
    elif (accelerator.distributed_type == DistributedType.DEEPSPEED
          and accelerator.deepspeed_config["zero_optimization"]["stage"] == 3):
        import deepspeed

        with deepspeed.zero.GatheredParameters(list(unwrapped.parameters()), modifier_rank=0):
            if accelerator.is_main_process:
                load_checkpoint_in_model(unwrapped, str(folder))
    else:
        load_checkpoint_in_model(unwrapped, str(folder))


def remove_checkpoints(run_dir: Path, accelerator: Accelerator) -> None:
    if accelerator.is_main_process:
        shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)


def _parameter_groups(modules, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for module in modules:
        for name, parameter in module.named_parameters():
            if parameter.requires_grad:
                (no_decay if parameter.ndim < 2 else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _latest_checkpoint(checkpoints: Path) -> Path:
    found = sorted(p for p in checkpoints.glob("step-*") if (p / "trainer_state.json").is_file())
    if not found:
        raise UsageError(f"--resume: no checkpoint under {checkpoints}; run without --resume to start afresh")
    return found[-1]
