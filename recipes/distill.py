"""Distil a fine-tuned teacher into a small, fast student, and show what distillation bought.

    accelerate launch recipes/distill.py
    accelerate launch recipes/distill.py --dataset ../shared/data/sst2 --max_train_samples 4000
    accelerate launch recipes/distill.py --student distil --learning_rate 5e-5 --epochs 3
    accelerate launch recipes/distill.py --student distil --layer_map 0,3 --ffn_dim 384 --learning_rate 2e-4 --epochs 6
    accelerate launch recipes/distill.py --task_type token_classification     # a BiLSTM tagger, word by word
    accelerate launch recipes/distill.py --dataset ../shared/data/semeval2018_ec --task_type multi_label

The lesson: with few labels and plenty of unlabelled text, a small student trained on a big
teacher's soft targets over that text beats the same student trained on the labels alone, and
keeps most of the teacher's accuracy at a fraction of its size and cost. The default scenario:
1,000 labelled rows; the teacher (MiniLM) is fine-tuned on them and labels a transfer set (the
rest of the training rows, unlabelled, plus sentences from the built-in generator); a BiLSTM
student learns from those soft targets (on sentence pairs it reads each sentence alone and compares them).
The teacher's fine-tune takes its settings from the task type and the data (printed first), and a teacher that
does not beat the trivial guess on validation (the majority class, the best constant label set, the mean, no
entity) stops the job before anything is distilled. The table sets teacher, distilled student and the same
student on labels alone side by side, with a paired McNemar test, speed timed in interleaved
rounds at batch 64 and batch 1, and the ONNX and int8 exports of the distilled student; students.png
draws quality against latency, and one line names the fastest model within one point of the teacher.
"""

from pipeline.harness.config import parse_options, run_cli
from pipeline.harness.cards import push_run
from pipeline.harness.data import DataSpec, load_task
from pipeline.steps.distillation import DistillConfig, Distiller
from pipeline.harness.models import ModelSpec
from pipeline.harness.runs import RunOptions
from pipeline.harness.reports import comparison_table
from pipeline.harness.training import TrainConfig, make_accelerator

# The student's training defaults (the BiLSTM's); the teacher has options of its own (--teacher_*). The labels-only
# twin gets as many optimizer steps as the distilled student (over 1,000 rows, about 100 short epochs) and stops once
# 10 of them in a row bring no better validation accuracy, as a user training it would stop.
DEFAULTS = {"max_train_samples": 1000, "learning_rate": 2e-3, "epochs": 4, "batch_size": 64,
            "early_stopping_patience": 10}
OPTIONS = (DataSpec, ModelSpec, TrainConfig, DistillConfig, RunOptions)


def main() -> None:
    (data_spec, model_spec, train_config, settings, options), config = parse_options(OPTIONS, __doc__,
                                                                                      defaults=DEFAULTS)
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
    for variant in distiller.variants():
        distiller.train_student(variant)

    # 5. The distilled student exported for serving (ONNX, int8 ONNX), each export scored on the test split.
    distiller.export_student()

    # 6. Teacher, students and exports compared on the same test sentences (paired test, size, speed side by
    #    side), kept in the distilled student's record with the trade-off drawn (students.png).
    record = distiller.compare()
    accelerator.print(f"\n{record.run_dir}  (quality against latency: students.png)\n"
                      + comparison_table(record.extra["comparison"], trivial=record.extra.get("trivial"))
                      + f"\n{record.extra['fastest_near_teacher']}")

    # 7. Shared on the Hugging Face Hub with --push_to_hub: the distilled student's model folder, its card and exports.
    push_run(record, options, is_main_process=accelerator.is_main_process)


if __name__ == "__main__":
    run_cli(main)
