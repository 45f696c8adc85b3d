"""The whole road on one or more data sets: every recipe, for several seeds, then the leaderboards and the size report.

bag-of-words and n-grams, fastText, Word2Vec, a BiLSTM, ELMo (a scalar mix over a frozen biLM pretrained
here), fine-tuned transformers (BERT, GPT-2 and XLNet each from scratch and after pretraining with its own
objective) and a distilled student.

    python recipes/run_all.py                                   # built-in data, fast settings, 2 seeds
    python recipes/run_all.py --datasets ../shared/data/sst2 --max_train_samples 4000 --max_eval_samples 2000
    python recipes/run_all.py --datasets builtin ../shared/data/sst2 ../shared/data/mrpc ../shared/data/ag_news
    python recipes/run_all.py --datasets ../shared/data/stsb                          # regression, found from the floats
    python recipes/run_all.py --datasets ../shared/data/semeval2018_ec --task_type multi_label

Every step trains on the same labelled rows (1,000 by default), so one leaderboard table per data set
holds them all; with several data sets, the multi-task board sets them side by side (GLUE-style).
Each step runs in this process, one after the other, as the command printed before it would run
it (`python recipes/<recipe>.py ...`): the libraries are imported once, not forty times. The
distillation step finds the fine-tuned `minilm` of the same seed in outputs/ and reuses it as its teacher.
"""

import argparse
import time
from pathlib import Path

from pipeline.harness.config import RecipeParser, run_cli, run_script
from pipeline.harness.heads import FAMILY
from pipeline.harness.tasks import TASK_TYPES
from pipeline.steps.pretraining.objectives import OBJECTIVES
from pipeline.steps.pretraining.pretrainer import finished_pretraining

ROOT = Path(__file__).resolve().parent
STARTED = time.monotonic()


def elapsed() -> str:
    minutes, seconds = divmod(int(time.monotonic() - STARTED), 60)
    return f"[{minutes} min {seconds:02d} s]"


def step(recipe: str, args: list[str]) -> None:
    """One step of the road: recipes/<recipe>.py with `args`, in this process."""
    print(f"\n{elapsed()} $ python recipes/{recipe}.py {' '.join(args)}", flush=True)
    run_script(ROOT / f"{recipe}.py", args)


def main() -> None:
    parser = RecipeParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", "--dataset", nargs="+", default=["builtin"],
                        help="data sets to run the road on, one after the other (names as recipes take them)")
    parser.add_argument("--task_type", choices=[name for name, kind in TASK_TYPES.items() if not kind.reads_words],
                        default=None,
                        help="the task type of every data set (default: each one's label column decides; label sets "
                             "written as strings, like SemEval-2018 E-c's, need multi_label); tagging words has "
                             "a road of its own: recipes/benchmarks/ner.py")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--max_train_samples", type=int, default=1000,
                        help="labelled rows for every step (distillation's transfer set gets the rest, unlabelled)")
    parser.add_argument("--max_eval_samples", type=int, default=None)
    parser.add_argument("--finetune_models", nargs="+", default=["bert-tiny", "minilm"],
                        help="models fine-tuned; the first BERT-family one named by --teacher is distilled")
    parser.add_argument("--teacher", default="minilm")
    parser.add_argument("--teacher_epochs", type=int, default=4,
                        help="epochs of the pretrained models' fine-tunes, which distillation reuses as its teacher")
    parser.add_argument("--teacher_learning_rate", type=float, default=1e-4)
    parser.add_argument("--student_epochs", type=int, default=4, help="the main job's (recipes/distill.py)")
    parser.add_argument("--student_steps", type=int, default=640,
                        help="the least optimizer steps of the distilled student, the main job's (0: --student_epochs)")
    parser.add_argument("--scratch_epochs", type=int, default=20,
                        help="epochs of from-scratch and pretrained-here transformers (at 1e-3) and fastText")
    parser.add_argument("--rnn_epochs", type=int, default=30)
    parser.add_argument("--elmo_epochs", type=int, default=30, help="epochs of the ELMo step's mix and BiLSTM (at 3e-3)")
    parser.add_argument("--elmo_encoders", nargs="*", default=["bilm", "minilm"],
                        help="frozen encoders the ELMo step mixes: bilm (the biLM pretrained here, with --pretrain "
                             "bilm) and any other --encoder recipes/elmo.py takes (minilm: pretrained on real text)")
    parser.add_argument("--no_teacher_guard", action="store_true",
                        help="distil even from a teacher that does not beat the trivial guess (tiny test runs)")
    parser.add_argument("--max_transfer_rows", type=int, default=60000,
                        help="cap the distillation's transfer set, a seeded sample (the built-in data's left-out and "
                             "generated rows and SST-2's 56,000 left-out rows fit; a larger pool is sampled)")
    parser.add_argument("--early_stopping_patience", type=int, default=3,
                        help="every neural step stops after this many epochs without a validation gain, "
                             "keeping its best epoch (0: every epoch runs)")
    parser.add_argument("--pretrain", nargs="*", default=["bilm", "mlm", "clm", "plm"],
                        help="objectives to pretrain: bilm feeds the ELMo step; mlm, clm and plm's families (BERT, "
                             "GPT-2, XLNet) are fine-tuned from scratch and after pretraining, same size and settings")
    parser.add_argument("--pretrain_corpus", default=None,
                        help="unlabelled text to pretrain on (default: the built-in generator, for --dataset builtin)")
    # A lighter pretraining than pretrain.py's defaults (50,000 texts, 6 epochs: about 18 minutes for the biLM
    # on 2 cores), so that the whole road fits its time budget; the benchmarks use the full one.
    parser.add_argument("--pretrain_corpus_size", type=int, default=25000, help="texts to pretrain on")
    parser.add_argument("--pretrain_epochs", type=int, default=2)
    parser.add_argument("--output_dir", default="outputs")
    args = parser.parse_args()

    for dataset in args.datasets:
        road(dataset, args)
    reports = str(Path(args.output_dir) / "reports")
    for recipe in ("leaderboard", "params_report"):
        step(recipe, ["--runs", args.output_dir, "--output_dir", reports])
    print(f"\n{elapsed()} run_all: done")


def road(dataset: str, args: argparse.Namespace) -> None:
    """Every step on one data set, for every seed."""
    data = ["--dataset", dataset, "--output_dir", args.output_dir]
    data += ["--max_train_samples", str(args.max_train_samples)]
    data += ["--max_eval_samples", str(args.max_eval_samples)] if args.max_eval_samples else []
    data += ["--task_type", args.task_type] if args.task_type else []
    corpus = args.pretrain_corpus or ("builtin" if dataset == "builtin" else None)
    if args.pretrain and not corpus:
        print(f"run_all: no pretraining rows for {dataset} (give --pretrain_corpus with unlabelled text)")
    stop = ["--early_stopping_patience", str(args.early_stopping_patience)]
    scratch = ["--epochs", str(args.scratch_epochs), "--learning_rate", "1e-3", *stop]
    teacher = ["--epochs", str(args.teacher_epochs), "--learning_rate", str(args.teacher_learning_rate), *stop]
    for seed in args.seeds:
        s = ["--seed", str(seed)]
        elmo = [*data, *s, "--epochs", str(args.elmo_epochs), "--learning_rate", "3e-3", *stop]
        step("bow", [*data, *s, "--features", "binary", "--ngram_max", "1"])  # one-hot bag of words
        step("bow", [*data, *s, "--features", "tfidf", "--ngram_max", "2"])  # TF-IDF 1-2-grams
        step("bow", [*data, *s, "--features", "fasttext", "--epochs", str(args.scratch_epochs),
                       "--learning_rate", "0.05", *stop])
        step("word2vec", [*data, "--seed", str(seed), "--architecture", "skipgram"])
        step("rnn", [*data, *s, "--epochs", str(args.rnn_epochs), "--learning_rate", "2e-3",
                       "--sequence_length", "48", *stop])
        for model in args.finetune_models:
            pretrained = model == args.teacher or model == "minilm"
            step("finetune", [*data, "--model", model, *s, *(teacher if pretrained else scratch)])
        # What pretraining buys each family: the same tiny model and fine-tuning, from scratch and pretrained.
        for objective in args.pretrain if corpus else []:
            model = OBJECTIVES[objective].default_model
            pretrain_args = ["--objective", objective, "--corpus", corpus, "--output_dir", args.output_dir]
            pretrain_args += ["--corpus_size", str(args.pretrain_corpus_size)] if args.pretrain_corpus_size else []
            pretrain_args += ["--epochs", str(args.pretrain_epochs)] if args.pretrain_epochs else []
            if finished_pretraining(pretrain_args) is None:  # the first seed pretrains, the others reuse the run
                step("pretrain", pretrain_args)
            pretrained = finished_pretraining(pretrain_args).run_dir
            if objective == "bilm":  # the ELMo step: the biLM frozen, a scalar mix of its layers learned
                if "bilm" in args.elmo_encoders:
                    step("elmo", [*elmo, "--encoder", pretrained])
                continue
            # Both read the tokens the way this pretraining informs (a masked LM: their mean, not BERT's [CLS]).
            readout = OBJECTIVES[objective].readout
            tune = [*data, *s, *scratch, *(["--pooling", readout] if readout != FAMILY else [])]
            if model not in args.finetune_models or readout != FAMILY:
                step("finetune", [*tune, "--model", model])
            step("finetune", [*tune, "--model", pretrained])
        for encoder in (e for e in args.elmo_encoders if e != "bilm"):  # the same mix over a pretrained transformer
            step("elmo", [*elmo, "--encoder", encoder])
        # The teacher's options are its fine-tune's above (the main job's), so distillation reuses that run.
        step("distill", [*data, "--teacher", args.teacher, "--teacher_epochs", str(args.teacher_epochs),
                           "--teacher_seed", str(seed), "--teacher_learning_rate", str(args.teacher_learning_rate),
                           "--epochs", str(args.student_epochs), "--student_steps", str(args.student_steps),
                           *stop, *s,
                           "--max_transfer_rows", str(args.max_transfer_rows),
                           *(["--no_teacher_guard"] if args.no_teacher_guard else [])])


if __name__ == "__main__":
    run_cli(main)
