"""Fine-tune a pretrained (or from-scratch) transformer for text classification.

    accelerate launch recipes/finetune.py --model minilm
    accelerate launch recipes/finetune.py --model bert-tiny --dataset ../shared/data/sst2 --epochs 2

The lesson: a contextual model reads word order, so negation and "X, but Y" stop fooling it.
"""

from transformers import DataCollatorWithPadding

from pipeline.config import parse_options, run_cli
from pipeline.data import DataSpec, encode, load_task
from pipeline.evaluation import evaluate_test
from pipeline.models import ModelSpec, load_model
from pipeline.records import RunOptions, build_record, save_model, start_run, write_record
from pipeline.reports import markdown_table, result_rows
from pipeline.training import TrainConfig, make_accelerator, remove_checkpoints, train


def main() -> None:
    (data_spec, model_spec, train_config, options), config = parse_options(
        (DataSpec, ModelSpec, TrainConfig, RunOptions), __doc__)
    accelerator = make_accelerator(train_config)

    # 1. Data: every split with a `text` column and integer labels.
    task = load_task(data_spec)

    # 2. Model and its tokenizer (scratch presets train theirs on the training text).
    with accelerator.main_process_first():
        loaded = load_model(model_spec, task.label_names, task.splits["train"]["text"])
    encoded = encode(task, loaded.tokenizer, model_spec.max_length)
    collate = DataCollatorWithPadding(loaded.tokenizer)

    # 3. Train, keeping the weights of the best validation epoch.
    run = start_run(options, "finetune", [model_spec.model, task.name], config, accelerator)
    training = train(loaded.model, encoded["train"], encoded["validation"], collate, train_config, accelerator,
                     run.dir, task.label_names, resume=options.resume)

    # 4. Evaluate on the test split: metrics, interval, per-phenomenon accuracy, speed.
    metrics = evaluate_test(loaded.model, loaded.tokenizer, encoded["test"], task, collate, accelerator,
                            train_config.eval_batch_size, model_spec.max_length, train_config.seed)

    # 5. Record the run: the model in save_pretrained format, then results.json.
    record = build_record(run, "finetune", "finetune", task, loaded.info, metrics, training, accelerator,
                          train_config.seed)
    if accelerator.is_main_process:
        save_model(run, accelerator.unwrap_model(loaded.model), loaded.tokenizer, record)
        write_record(run, record)
        print(f"\n{run.dir}\n" + markdown_table(result_rows(record), ["metric", "value"]))
    if not train_config.keep_checkpoints:
        remove_checkpoints(run.dir, accelerator)


if __name__ == "__main__":
    run_cli(main)
