"""DistilBERT-style knowledge distillation: the loss, a student cut from its teacher, cached soft targets.

Sanh et al. 2019 (DistilBERT) initialise the student from the teacher, one layer out of two, and
train it on the teacher's softened outputs; Tang et al. 2019 do the same for a BiLSTM student.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import DistilBertConfig, DistilBertForSequenceClassification

from accelerate.utils import set_seed

from .errors import UsageError
from .evaluation import predict
from .finetuning import fine_tune
from .models import PRESETS, LoadedModel, ModelSpec, count_parameters, load_model, train_tokenizer
from .records import config_hash, find_records
from .recurrent import RecurrentClassifier
from .training import TrainConfig


@dataclass
class DistillConfig:
    teacher: list[str] = field(default_factory=lambda: ["minilm"], metadata={
        "help": "Teacher: a preset to fine-tune (or reuse), a run folder, a local directory or a hub id. "
                "Give it more than once to average several teachers' soft targets."})
    teacher_epochs: int = field(default=3, metadata={"help": "Epochs when a teacher must be fine-tuned first."})
    student: str = field(default="distil", metadata={
        "help": "'distil' (a DistilBERT cut from the teacher), 'bilstm' (Tang et al.), a preset, directory or hub id."})
    layer_map: str | None = field(default=None, metadata={
        "help": "Teacher layers copied into the 'distil' student, e.g. '0,2,4' (default: every other layer)."})
    temperature: float = field(default=2.0, metadata={"help": "Softmax temperature T of the soft targets."})
    temperature_end: float | None = field(default=None, metadata={
        "help": "Anneal T linearly to this value over training (default: constant)."})
    alpha_kd: float = field(default=0.5, metadata={"help": "Weight of T^2 * KL(teacher || student)."})
    alpha_hard: float = field(default=0.5, metadata={"help": "Weight of cross-entropy on the gold labels."})
    alpha_cos: float = field(default=0.0, metadata={"help": "Weight of the hidden-state cosine loss."})
    alpha_mse: float = field(default=0.0, metadata={"help": "Weight of the hidden-state MSE (projected if widths differ)."})
    alpha_attention: float = field(default=0.0, metadata={"help": "Weight of the attention-map MSE."})
    augment: list[str] = field(default_factory=list, metadata={
        "help": "Augmentations of the training text (Tang et al.): mask, neighbors, ngram."})
    augment_copies: int = field(default=0, metadata={"help": "Augmented copies per training sentence."})
    ablation: bool = field(default=True, metadata={
        "help": "Also train the same student on the hard labels only, with the same budget."})


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                      hard_weight: torch.Tensor, temperature: float, alpha_kd: float, alpha_hard: float) -> torch.Tensor:
    """alpha_kd * T^2 * KL(p_teacher,T || p_student,T) + alpha_hard * CE(labels).

    teacher_logits is [batch, teachers, classes]: several teachers' soft targets are averaged.
    hard_weight is 0 for augmented rows, which have only the teacher's word for their label.
    """
    loss = student_logits.new_zeros(())
    if alpha_kd:
        soft_targets = F.softmax(teacher_logits.float() / temperature, dim=-1).mean(dim=1)
        log_student = F.log_softmax(student_logits.float() / temperature, dim=-1)
        loss = loss + alpha_kd * temperature ** 2 * F.kl_div(log_student, soft_targets, reduction="batchmean")
    if alpha_hard:
        ce = F.cross_entropy(student_logits.float(), labels, reduction="none")
        loss = loss + alpha_hard * (ce * hard_weight).sum() / hard_weight.sum().clamp(min=1.0)
    return loss


def matched_layers(student_layers: int, teacher_layers: int) -> list[tuple[int, int]]:
    """Pairs of hidden-state indices (0 = embeddings): each student layer ends where its teacher block ends."""
    return [(i, round(i * teacher_layers / student_layers)) for i in range(student_layers + 1)]


def hidden_state_losses(student_out, teacher_out, attention_mask: torch.Tensor, projection: torch.nn.Module | None,
                        alpha_cos: float, alpha_mse: float, alpha_attention: float) -> torch.Tensor:
    """Cosine and MSE between matched hidden states, MSE between matched attention maps (heads averaged)."""
    pairs = matched_layers(len(student_out.hidden_states) - 1, len(teacher_out.hidden_states) - 1)
    mask = attention_mask.bool()
    loss = attention_mask.new_zeros((), dtype=torch.float)
    for s, t in pairs:
        student_h, teacher_h = student_out.hidden_states[s][mask], teacher_out.hidden_states[t][mask]
        if projection is not None:
            student_h = projection(student_h)
        if alpha_cos:
            loss = loss + alpha_cos * (1 - F.cosine_similarity(student_h, teacher_h, dim=-1)).mean() / len(pairs)
        if alpha_mse:
            loss = loss + alpha_mse * F.mse_loss(student_h, teacher_h) / len(pairs)
    if alpha_attention:
        for s, t in pairs[1:]:
            student_a = student_out.attentions[s - 1].mean(dim=1)
            teacher_a = teacher_out.attentions[t - 1].mean(dim=1)
            loss = loss + alpha_attention * F.mse_loss(student_a, teacher_a) / (len(pairs) - 1)
    return loss


def parse_layer_map(text: str | None, teacher_layers: int) -> list[int]:
    layers = list(range(0, teacher_layers, 2)) if text is None else [int(x) for x in text.split(",") if x.strip()]
    if not layers or any(not 0 <= layer < teacher_layers for layer in layers):
        raise UsageError(f"--layer_map {text!r} does not fit a teacher with {teacher_layers} layers; "
                         f"give indices from 0 to {teacher_layers - 1}, e.g. '0,2,4'")
    return layers


def extract_student(teacher, layer_map: list[int]) -> DistilBertForSequenceClassification:
    """A DistilBERT initialised from a BERT teacher: embeddings copied, then teacher layer layer_map[i] -> layer i."""
    config = teacher.config
    if config.model_type != "bert":
        raise UsageError(f"--student distil cuts a DistilBERT out of a BERT teacher, and the teacher is "
                         f"'{config.model_type}'; give --student a preset, directory or 'bilstm'")
    student = DistilBertForSequenceClassification(DistilBertConfig(
        vocab_size=config.vocab_size, max_position_embeddings=config.max_position_embeddings, dim=config.hidden_size,
        n_layers=len(layer_map), n_heads=config.num_attention_heads, hidden_dim=config.intermediate_size,
        activation=config.hidden_act, dropout=config.hidden_dropout_prob,
        attention_dropout=config.attention_probs_dropout_prob, seq_classif_dropout=config.hidden_dropout_prob,
        pad_token_id=config.pad_token_id, num_labels=config.num_labels, id2label=config.id2label,
        label2id=config.label2id))
    bert, distil = teacher.bert, student.distilbert
    with torch.no_grad():
        distil.embeddings.word_embeddings.weight.copy_(bert.embeddings.word_embeddings.weight)
        # DistilBERT has no token types: fold type 0 (every single-sentence token's) into the positions.
        distil.embeddings.position_embeddings.weight.copy_(
            bert.embeddings.position_embeddings.weight + bert.embeddings.token_type_embeddings.weight[0])
        distil.embeddings.LayerNorm.load_state_dict(bert.embeddings.LayerNorm.state_dict())
        for target, source in zip(distil.transformer.layer, (bert.encoder.layer[i] for i in layer_map)):
            target.attention.q_lin.load_state_dict(source.attention.self.query.state_dict())
            target.attention.k_lin.load_state_dict(source.attention.self.key.state_dict())
            target.attention.v_lin.load_state_dict(source.attention.self.value.state_dict())
            target.attention.out_lin.load_state_dict(source.attention.output.dense.state_dict())
            target.sa_layer_norm.load_state_dict(source.attention.output.LayerNorm.state_dict())
            target.ffn.lin1.load_state_dict(source.intermediate.dense.state_dict())
            target.ffn.lin2.load_state_dict(source.output.dense.state_dict())
            target.output_layer_norm.load_state_dict(source.output.LayerNorm.state_dict())
        if teacher.bert.pooler is not None:
            student.pre_classifier.load_state_dict(teacher.bert.pooler.dense.state_dict())
        student.classifier.load_state_dict(teacher.classifier.state_dict())
    return student


def teacher_logits(teacher, teacher_id: str, encoded, collate, accelerator, batch_size: int, cache_dir: Path,
                   data_fingerprint: str) -> np.ndarray:
    """The teacher's logits for every row of `encoded`, computed once and cached on disk.

    The key is the teacher's identity, the data's fingerprint and the exact token ids, so new
    (augmented) text or another teacher never hits a stale entry.
    """
    digest = hashlib.sha256(f"{teacher_id}\n{data_fingerprint}".encode())
    digest.update(np.concatenate([np.asarray(ids, dtype=np.int64) for ids in encoded["input_ids"]]).tobytes())
    path = cache_dir / f"{digest.hexdigest()[:24]}.npy"
    if path.is_file():
        return np.load(path)
    loader = accelerator.prepare(torch.utils.data.DataLoader(encoded, batch_size=batch_size, collate_fn=collate))
    logits = predict(teacher, loader, accelerator)
    if accelerator.is_main_process:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(staging, logits)
        os.replace(staging, path)
    return logits


@dataclass
class Teacher:
    loaded: LoadedModel
    id: str
    record: dict | None


def load_teacher(name: str, task, data_spec, model_spec, train_config, distill: DistillConfig, options,
                 accelerator) -> Teacher:
    """A preset is fine-tuned first, unless a finished run of the same data and config is in outputs/."""
    if name in PRESETS and not Path(name).exists():
        # Only what the teacher shares with the student (the data and input length): student flags
        # such as --vocab_size or --learning_rate must not change which teacher is found.
        teacher_spec = ModelSpec(model=name, max_length=model_spec.max_length)
        teacher_train = replace(TrainConfig(), epochs=distill.teacher_epochs, seed=train_config.seed,
                                mixed_precision=train_config.mixed_precision)
        teacher_options = replace(options, run_name=None, resume=False)
        config = {**asdict(data_spec), **asdict(teacher_spec), **asdict(teacher_train), **asdict(teacher_options)}
        digest = config_hash(config)
        for record in find_records(options.output_dir):
            if (record["recipe"] == "finetune" and record["config_hash"] == digest
                    and record["task"]["fingerprint"] == task.fingerprint):
                accelerator.print(f"teacher: reusing {record['run_dir']}")
                loaded = load_model(ModelSpec(model=record["run_dir"], max_length=model_spec.max_length),
                                    task.label_names)
                return Teacher(loaded, f"{record['run_dir']}:{digest}", record)
        accelerator.print(f"teacher: fine-tuning '{name}' first ({distill.teacher_epochs} epochs)")
        record, loaded = fine_tune(task, teacher_spec, teacher_train, teacher_options, accelerator, config)
        return Teacher(loaded, f"{record['run_dir']}:{digest}", record)
    folder = Path(name)
    config_file = next((p for p in (folder / "model" / "config.json", folder / "config.json") if p.is_file()), None)
    if config_file is None and (folder.exists() or name.startswith((".", "/", "~", "outputs"))):
        raise UsageError(f"teacher '{name}' not found: it is no run folder or save_pretrained directory "
                         f"(no config.json); give a run under outputs/, a model directory, a preset or a hub id")
    if config_file is not None:
        labels = list(json.loads(config_file.read_text()).get("id2label", {}).values())
        if labels != task.label_names:
            raise UsageError(f"teacher '{name}' predicts labels {labels} but the data's labels are "
                             f"{task.label_names}; distil on the data the teacher was trained for")
    loaded = load_model(ModelSpec(model=name, max_length=model_spec.max_length), task.label_names)
    record_file = folder / "results.json"
    record = json.loads(record_file.read_text()) if record_file.is_file() else None
    weights = next(iter(sorted(config_file.parent.glob("*.safetensors"))), None) if config_file else None
    identity = f"{config_file.parent.resolve()}:{weights.stat().st_mtime_ns if weights else ''}" if config_file else name
    return Teacher(loaded, identity, record)


def build_student(distill: DistillConfig, teacher: Teacher, task, model_spec: ModelSpec,
                  seed: int) -> LoadedModel:
    """The student, built afresh from the same seed each time (so the ablation starts where distillation does)."""
    set_seed(seed)
    texts = task.splits["train"]["text"]
    if distill.student == "distil":
        teacher_model = teacher.loaded.model
        layers = parse_layer_map(distill.layer_map, teacher_model.config.num_hidden_layers)
        student = extract_student(teacher_model, layers)
        tokenizer = copy.deepcopy(teacher.loaded.tokenizer)
        tokenizer.model_input_names = ["input_ids", "attention_mask"]  # DistilBERT has no token types
        info = {"kind": "distil", "layer_map": layers, "teacher": teacher.id}
    elif distill.student == "bilstm":
        tokenizer = train_tokenizer("wordlevel", texts, model_spec.vocab_size, "bilstm")
        tokenizer.model_input_names = ["input_ids", "attention_mask"]
        student = RecurrentClassifier(len(tokenizer), len(task.label_names), pad_token_id=tokenizer.pad_token_id,
                                      id2label=dict(enumerate(task.label_names)))
        info = {"kind": "bilstm", "class": "RecurrentClassifier", "vocab_size": len(tokenizer)}
    else:
        loaded = load_model(replace(model_spec, model=distill.student), task.label_names, texts)
        loaded.info["student"] = distill.student
        return loaded
    family = student.config["model_type"] if isinstance(student.config, dict) else student.config.model_type
    info.update(name=distill.student, family=family, parameters=count_parameters(student))
    return LoadedModel(student, tokenizer, info)


def with_soft_targets(encoded_rows, logits: np.ndarray, hard_weight: float):
    """Attach each row's teacher logits ([teachers, classes]) and the weight of its gold label."""
    return (encoded_rows.add_column("teacher_logits", logits.tolist())
            .add_column("hard_weight", [hard_weight] * len(encoded_rows)))


def make_loss(distill: DistillConfig, total_batches: int, teacher_model=None, projection=None):
    """The training step's loss; with hidden-state or attention terms the teacher runs alongside."""
    calls = [0]

    def loss_fn(model, batch):
        progress = min(calls[0] / max(total_batches, 1), 1.0)
        calls[0] += 1
        end = distill.temperature if distill.temperature_end is None else distill.temperature_end
        temperature = distill.temperature + (end - distill.temperature) * progress
        inputs = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        deep = teacher_model is not None
        out = model(**inputs, output_hidden_states=deep or None, output_attentions=distill.alpha_attention > 0 or None)
        loss = distillation_loss(out.logits, batch["teacher_logits"], batch["labels"], batch["hard_weight"],
                                 temperature, distill.alpha_kd, distill.alpha_hard)
        if deep:
            with torch.no_grad():
                teacher_out = teacher_model(**inputs, output_hidden_states=True,
                                            output_attentions=distill.alpha_attention > 0 or None)
            loss = loss + hidden_state_losses(out, teacher_out, inputs["attention_mask"], projection,
                                              distill.alpha_cos, distill.alpha_mse, distill.alpha_attention)
        return loss

    return loss_fn


def comparison(teacher_metrics: dict, teacher_parameters: int, teacher_size_mb: float | None,
               rows: dict[str, dict]) -> list[dict]:
    """Teacher, distilled student, student without distillation: side by side, with retention and speed-up."""
    table = [{"model": "teacher", "accuracy": teacher_metrics["accuracy"],
              "ci95": teacher_metrics["accuracy_ci95"], "parameters": teacher_parameters,
              "size_mb": teacher_size_mb, "samples_per_second": teacher_metrics["speed"]["samples_per_second"],
              "per_phenomenon": teacher_metrics.get("per_phenomenon", {}), "retention": 1.0, "speedup": 1.0}]
    for name, record in rows.items():
        metrics = record["metrics"]
        table.append({"model": name, "accuracy": metrics["accuracy"], "ci95": metrics["accuracy_ci95"],
                      "parameters": record["parameters"], "size_mb": record.get("size_mb"),
                      "samples_per_second": metrics["speed"]["samples_per_second"],
                      "per_phenomenon": metrics.get("per_phenomenon", {}),
                      "retention": metrics["accuracy"] / teacher_metrics["accuracy"],
                      "speedup": metrics["speed"]["samples_per_second"]
                      / teacher_metrics["speed"]["samples_per_second"],
                      "epoch_seconds": record["timings"]["seconds_per_epoch"]})
    return table
