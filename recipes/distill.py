"""Distil a fine-tuned teacher into a small, fast student, and show what distillation bought.

    accelerate launch recipes/distill.py
    accelerate launch recipes/distill.py --dataset ../shared/data/sst2 --max_train_samples 4000
    accelerate launch recipes/distill.py --student distil --learning_rate 5e-5 --epochs 3
    accelerate launch recipes/distill.py --task_type token_classification     # a BiLSTM tagger, word by word

The lesson: with few labels and plenty of unlabelled text, a small student trained on a big
teacher's soft targets over that text beats the same student trained on the labels alone, and
keeps most of the teacher's accuracy at a fraction of its size and cost. The default scenario:
1,000 labelled rows; the teacher (MiniLM) is fine-tuned on them and labels a transfer set (the
rest of the training rows, unlabelled, plus sentences from the built-in generator); a BiLSTM
student learns from those soft targets. The table sets teacher, distilled student and the same
student on labels alone side by side, with a paired McNemar test, speed timed in interleaved
rounds at batch 64 and batch 1, and the ONNX and int8 exports of the distilled student.
"""

from pipeline.harness.config import parse_options, run_cli
from pipeline.harness.data import DataSpec, load_task
from pipeline.steps.distillation import DistillConfig, Distiller
from pipeline.harness.models import ModelSpec
from pipeline.harness.runs import RunOptions
from pipeline.harness.reports import comparison_table
from pipeline.harness.training import TrainConfig, make_accelerator

# The student's training defaults (the BiLSTM's); the teacher has options of its own (--teacher_*).
DEFAULTS = {"max_train_samples": 1000, "learning_rate": 2e-3, "epochs": 4, "batch_size": 64}


def main() -> None:
    (data_spec, model_spec, train_config, settings, options), config = parse_options(
        (DataSpec, ModelSpec, TrainConfig, DistillConfig, RunOptions), __doc__, defaults=DEFAULTS)
    accelerator = make_accelerator(train_config)

    # 1. Data, and every option checked against it and the teachers' configs before anything trains.
    task = load_task(data_spec, tags_words=True)
    distiller = Distiller(task, data_spec=data_spec, model_spec=model_spec, train_config=train_config,
                          settings=settings, options=options, accelerator=accelerator, config=config)

    # 2. Teachers: fine-tuned on the labelled rows first, unless a finished run of the same config exists.
    distiller.obtain_teachers()

    # 3. The transfer set (text the labelled set does not have), labelled by the teachers' soft targets.
    distiller.label_transfer_set()

    # 4. Students of one architecture and initialisation: on the labels alone, then distilled.
    #    The distilled student, trained last, is exported and timed against the others.
    for variant in distiller.variants():
        record = distiller.train_student(variant)

    # 5. The comparison, kept in the distilled student's record.
    accelerator.print(f"\n{record.run_dir}\n" + comparison_table(record.extra.get("comparison", [])))


if __name__ == "__main__":
    run_cli(main)
