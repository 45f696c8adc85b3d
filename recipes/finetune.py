"""Fine-tune a pretrained (or from-scratch) transformer: to classify texts, or to tag their words.

    accelerate launch recipes/finetune.py --model minilm
    accelerate launch recipes/finetune.py --model bert-tiny --dataset ../shared/data/sst2 --epochs 2
    accelerate launch recipes/finetune.py --model minilm --task_type token_classification   # built-in tags
    accelerate launch recipes/finetune.py --model minilm --dataset ../shared/data/conll2003  # named entities

The lesson: a contextual model reads word order, so negation and "X, but Y" stop fooling it.
"""

from pipeline.harness.config import parse_options, run_cli
from pipeline.harness.cards import push_run
from pipeline.harness.data import load_task
from pipeline.harness.evaluation import trivial_line
from pipeline.harness.finetuning import FINETUNE_OPTIONS, fine_tune
from pipeline.harness.reports import markdown_table, result_rows
from pipeline.harness.training import make_accelerator


def main() -> None:
    (data_spec, model_spec, train_config, options), config = parse_options(FINETUNE_OPTIONS, __doc__)
    accelerator = make_accelerator(train_config)

    # 1. Data: every split with a `text` column and its labels as the task type encodes them (or, to tag
    #    words, a `tokens` column with a tag per word).
    task = load_task(data_spec, tags_words=True)

    # 2-4. Model and tokenizer, training with the best validation epoch kept, test evaluation
    #      (metrics, interval, per-phenomenon accuracy, speed), and the run record with the model.
    record, _ = fine_tune(task, model_spec, train_config=train_config, options=options, accelerator=accelerator,
                          config=config, only_stage=True)

    # 5. The result, for people.
    accelerator.print(f"\n{record.run_dir}\n" + markdown_table(result_rows(record), ["metric", "value"]))
    guard = record.extra.get("trivial")
    if guard and not guard["validation"]["learned"]:
        accelerator.print(f"warning: the model {trivial_line(guard, task.task_type)}; try more --epochs, another "
                          "--learning_rate, --class_weights balanced or more labelled rows")

    # 6. Shared on the Hugging Face Hub with --push_to_hub: the model folder, its card and exports.
    push_run(record, options, is_main_process=accelerator.is_main_process)


if __name__ == "__main__":
    run_cli(main)
