"""Distil a fine-tuned teacher into a small student, DistilBERT-style, and show what the student kept.

    accelerate launch recipes/distill.py
    accelerate launch recipes/distill.py --dataset ../shared/data/sst2 --max_train_samples 4000
    accelerate launch recipes/distill.py --student bilstm --learning_rate 1e-3 --augment mask ngram --augment_copies 2

The lesson: a student cut from its teacher (half the layers) and trained on the teacher's soft
targets keeps nearly all of its accuracy at about twice the speed; the same student trained on the
labels alone (the ablation, same budget) shows what the soft targets bought.
"""

from dataclasses import replace

import numpy as np
from datasets import Dataset, concatenate_datasets
from transformers import DataCollatorWithPadding

from pipeline.augmentation import augment, embedding_neighbors
from pipeline.config import parse_options, run_cli
from pipeline.data import DataSpec, encode, encode_rows, load_task
from pipeline.distillation import (DistillConfig, build_student, comparison, load_teacher, make_loss,
                                   teacher_logits, with_soft_targets)
from pipeline.errors import UsageError
from pipeline.evaluation import evaluate_test
from pipeline.finetuning import train_and_record
from pipeline.models import CACHE, ModelSpec
from pipeline.records import (RunOptions, finished_record, folder_size_mb, has_unfinished, start_run,
                              write_record)
from pipeline.reports import comparison_table
from pipeline.training import TrainConfig, make_accelerator


def main() -> None:
    (data_spec, model_spec, train_config, distill, options), config = parse_options(
        (DataSpec, ModelSpec, TrainConfig, DistillConfig, RunOptions), __doc__)
    accelerator = make_accelerator(train_config)
    max_length, batch_size = model_spec.max_length, train_config.eval_batch_size

    # 1. Data.
    task = load_task(data_spec)
    if distill.augment and task.is_pair:
        raise UsageError("--augment works on single-sentence data sets; this one has sentence pairs")
    deep = distill.alpha_cos or distill.alpha_mse or distill.alpha_attention
    if deep and distill.student != "distil":
        raise UsageError("hidden-state and attention losses need the 'distil' student, which shares the "
                         "teacher's tokenizer; set --alpha_cos/--alpha_mse/--alpha_attention to 0 for this student")

    # 2. Teachers: fine-tuned first, unless a finished run of the same data and config is in outputs/.
    teachers = [load_teacher(name, task, data_spec, model_spec, train_config, distill, options, accelerator)
                for name in distill.teacher]
    lead = teachers[0]
    lead_collate = DataCollatorWithPadding(lead.loaded.tokenizer)
    teacher_metrics, _ = evaluate_test(lead.loaded.model, lead.loaded.tokenizer,
                                    encode(task, lead.loaded.tokenizer, max_length)["test"], task, lead_collate,
                                    accelerator, batch_size, max_length, train_config.seed)

    # 3. The student: a DistilBERT cut from the teacher (or a BiLSTM, a preset...), with its own tokenizer.
    student = build_student(distill, lead, task, model_spec, train_config.seed)
    encoded = encode(task, student.tokenizer, max_length)

    # 4. Soft targets, computed once per training sentence (and per augmented one) and cached on disk.
    rows = task.splits["train"]
    if distill.augment and distill.augment_copies:
        neighbors = (embedding_neighbors(" ".join(rows["text"]).split(), lead.loaded.tokenizer,
                                         lead.loaded.model.get_input_embeddings().weight.detach())
                     if "neighbors" in distill.augment else None)
        texts = augment(list(rows["text"]), distill.augment, distill.augment_copies, train_config.seed,
                        lead.loaded.tokenizer.mask_token or "[MASK]", neighbors)
        rows = concatenate_datasets([rows.select_columns(["text", "label"]),
                                     Dataset.from_dict({"text": texts, "label": [0] * len(texts)},
                                                       features=rows.select_columns(["text", "label"]).features)])
    logits = np.stack([teacher_logits(t.loaded.model, t.id, encode_rows(rows, t.loaded.tokenizer, max_length),
                                      DataCollatorWithPadding(t.loaded.tokenizer), accelerator, batch_size,
                                      CACHE / "teacher-logits", task.fingerprint) for t in teachers], axis=1)
    labelled = len(task.splits["train"])
    train_set = with_soft_targets(encoded["train"], logits[:labelled], 1.0)
    if len(rows) > labelled:  # augmented text: the teacher's soft targets are its only label
        extra = encode_rows(rows.select(range(labelled, len(rows))), student.tokenizer, max_length)
        train_set = concatenate_datasets([train_set, with_soft_targets(extra, logits[labelled:], 0.0)
                                          .cast(train_set.features)])

    # 5. The ablation: the same student, trained on the labels alone with the same budget.
    results = {}
    if distill.ablation:
        parts, ablation_config = [distill.student, "hard-labels", task.name], {**config, "stage": "hard-labels"}
        done = finished_record(options, "distill", parts, ablation_config) if options.resume else None
        if done is None:
            resume = options.resume and has_unfinished(options, "distill", parts, ablation_config)
            run = start_run(replace(options, resume=resume), "distill", parts, ablation_config, accelerator)
            ablation = build_student(distill, lead, task, model_spec, train_config.seed)
            done = train_and_record(run, ablation, task, encoded["train"], encoded, train_config, accelerator,
                                    resume, max_length, recipe="distill", method="hard-labels")
        results["student, labels only"] = done

    # 6. Distillation.
    teacher_model = lead.loaded.model.to(accelerator.device).eval() if deep else None
    if distill.alpha_attention:  # fused attention kernels return no attention maps
        for model in (student.model, teacher_model):
            model.set_attn_implementation("eager")
    batches = -(-len(train_set) // train_config.batch_size) * train_config.epochs
    resume = options.resume and has_unfinished(options, "distill", [distill.student, task.name], config)
    run = start_run(replace(options, resume=resume), "distill", [distill.student, task.name], config, accelerator)
    record = train_and_record(run, student, task, train_set, encoded, train_config, accelerator, resume,
                              max_length, recipe="distill", method="distill",
                              loss_fn=make_loss(distill, batches, teacher_model),
                              teachers=[{"id": t.id, "run_id": (t.record or {}).get("run_id")} for t in teachers])
    results = {"student, distilled": record, **results}

    # 7. The comparison, printed and kept in the distilled student's record.
    teacher_size = folder_size_mb(f"{lead.record['run_dir']}/model") if lead.record else None
    table = comparison(teacher_metrics, lead.loaded.info["parameters"], teacher_size, results)
    record.update(comparison=table, retention=table[1]["retention"], speedup=table[1]["speedup"],
                  teacher_metrics=teacher_metrics)
    if accelerator.is_main_process:
        write_record(run, record)
    accelerator.print(f"\n{record['run_dir']}\n" + comparison_table(table))


if __name__ == "__main__":
    run_cli(main)
