"""Benchmark: tagging words (named entities), on CoNLL-2003 and on the built-in tagged reviews.

    python recipes/benchmarks/ner.py                        # both sets
    python recipes/benchmarks/ner.py --sets builtin-ner
    python recipes/benchmarks/ner.py --sets conll2003-2k      # few labels, many unlabelled sentences

Each model is one run of its recipe with the options below; a finished run of the same config under
--output_dir is reused. The rows: the window tagger (bow.py: logistic regression over one-hot features
of each word and two words either side, their shapes, prefixes and suffixes), the BiLSTM tagger
(rnn.py), ELMo's tagger (elmo.py: a learned scalar mix of frozen MiniLM's layers under a BiLSTM), MiniLM
fine-tuned (finetune.py), and distill.py with that MiniLM run as the teacher: the
BiLSTM tagger on the labels alone and distilled from the teacher's per-word soft targets, the paired
bootstrap over test sentences of the entity-F1 difference, and the distilled tagger's int8 ONNX export.
CoNLL-2003: every training sentence (14,041; validation is its own dev set, 3,250), scored on
test.jsonl (3,453 sentences, the official test set), entity F1 with seqeval in strict IOB2 mode; the
distillation's transfer set is one copy of each training sentence with words masked, and the students
train 2 epochs over it. CoNLL-2003 with 2,000 labels (conll2003-2k): every model learns from the same
2,000 shuffled training sentences (the teacher too); the distillation's transfer set is the other 12,041 training
sentences with their tags unread, plus a masked copy of each sentence, the students 3 epochs over it. MiniLM is
uncased: "Paris" and "paris" are one token to it, so it loses the capital letter that marks most
English names, which the window tagger reads (its shape features). Built-in: 1,000 tagged training
sentences (ASPECT, POS, NEG), scored on the test split, whose (aspect, adjective) pairings training
never saw; the transfer set is 10,000 of the other 5,000 train sentences and 20,000 generated ones.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from recipes.benchmarks.common import ROOT, run, student_metrics  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
# data: what names the rows (every model trains on them); the rest: each step's own options.
SETS = {
    "conll2003": {"data": ["--dataset", str(SHARED / "conll2003")],
                  "finetune": ["--epochs", "2"],
                  "distill": ["--max_train_samples", "14041", "--augment", "mask", "--augment_copies", "1",
                              "--epochs", "2"]},
    # Few labels, many sentences: every model learns from 2,000 labelled sentences; the distillation's transfer
    # set is the other 12,041 training sentences, their tags unread, and a masked copy of every sentence.
    "conll2003-2k": {"data": ["--dataset", str(SHARED / "conll2003"), "--max_train_samples", "2000"],
                     "folder": "conll2003-2k", "finetune": ["--epochs", "5"],
                     "distill": ["--augment", "mask", "--augment_copies", "1", "--epochs", "3"]},
    "builtin-ner": {"data": ["--task_type", "token_classification", "--max_train_samples", "1000"],
                    "finetune": ["--epochs", "4"], "distill": ["--generated", "20000", "--max_transfer_rows", "10000"]},
}
WINDOW = ["--window", "2"]
BILSTM = ["--epochs", "5", "--learning_rate", "3e-3"]
# ELMo's tagger: a learned mix of frozen MiniLM's 7 layers under a BiLSTM (128 per direction), stopping when
# validation F1 stops rising.
ELMO = ["--encoder", "minilm", "--max_length", "128", "--epochs", "8", "--learning_rate", "2e-3",
        "--early_stopping_patience", "2"]
MINILM = ["--model", "minilm", "--learning_rate", "1e-4", "--max_length", "128"]
STUDENTS = ["student, labels only", "student, distilled", "student, distilled, onnx-int8"]


def row(model: str, metrics: dict, types: list[str], *, parameters: int, speed: float, minutes: float | None = None,
        versus: dict | None = None, size: float | None = None) -> str:
    low, high = metrics["f1_ci95"]
    shown = f"{versus['difference']:+.4f} (p {versus['p_value']:.2g})" if versus else ""
    return (f"| {model} | {metrics['f1']:.4f} [{low:.4f}, {high:.4f}] | {metrics['precision']:.4f} | "
            f"{metrics['recall']:.4f} | {metrics['token_accuracy']:.4f} | "
            + " | ".join(f"{metrics['per_class'][t]['f1']:.4f}" for t in types)
            + f" | {shown} | {parameters:,} | {f'{size:.1f}' if size else ''} | "
            f"{f'{minutes:.1f}' if minutes is not None else ''} | {speed:,.0f} |")


def report(name: str, window: dict, bilstm: dict, elmo: dict, minilm: dict, distilled: dict) -> None:
    task = minilm["task"]
    types, sizes = task["labels"]["entity_types"], task["sizes"]
    print(f"\n## {name} (train {sizes['train']:,}, validation {sizes['validation']:,}, test {sizes['test']:,} "
          "sentences; the distillation's labelled rows are the same train rows)\n")
    print(f"| model | entity F1 [95% CI] | precision | recall | token accuracy | {' | '.join(types)} | vs labels "
          "only (paired bootstrap) | parameters | MB | train minutes | sentences/s |")
    print("|---|" + "---|" * (len(types) + 9))

    def minutes(record: dict) -> float:
        return sum(record["timings"]["epoch_seconds"]) / 60 if record["timings"]["epoch_seconds"] else \
            record["timings"]["total_seconds"] / 60

    for model, record in (("window tagger, logistic regression (bow.py)", window), ("BiLSTM tagger (rnn.py)", bilstm),
                          ("ELMo: learned mix of frozen MiniLM + BiLSTM tagger (elmo.py)", elmo),
                          ("MiniLM fine-tuned (finetune.py; the teacher)", minilm)):
        print(row(model, record["metrics"], types, parameters=record["parameters"], minutes=minutes(record),
                  speed=record["metrics"]["speed"]["samples_per_second"]))
    table = {entry["model"]: entry for entry in distilled["comparison"]}
    for model in STUDENTS:
        entry = table[model]
        print(row(f"BiLSTM tagger, {model.removeprefix('student, ')} (distill.py)", student_metrics(distilled, model), types,
                  parameters=entry["parameters"], speed=entry["samples_per_second"], size=entry["size_mb"],
                  versus=entry.get("versus_baseline")))
    speed = minilm["metrics"]["speed"]
    timing = table["teacher"]["timing"]
    print(f"\nSentences/s: the first four rows from their own runs ({speed['threads']} threads, batch "
          f"{speed['batch_size']}); the distillation's rows timed in {timing['rounds']} interleaved rounds at batch "
          f"{timing['batch_size']} ({timing['threads']} threads), where the teacher ran at "
          f"{table['teacher']['samples_per_second']:,.0f}. Transfer set: "
          + ", ".join(f"{count:,} from {source}" for source, count in distilled["transfer"].items()) + ".")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    parser.add_argument("--output_dir", default="outputs/benchmark-ner")
    args = parser.parse_args()
    for name in args.sets:
        data = SETS[name]["data"]
        if "--dataset" in data and not Path(data[1]).exists():
            print(f"{name}: {data[1]} is not present; skipped")
            continue
        out = str(Path(args.output_dir) / SETS[name].get("folder", ""))
        window = run("bow", [*data, *WINDOW], out)
        bilstm = run("rnn", [*data, *BILSTM], out)
        elmo = run("elmo", [*data, *ELMO], out)
        minilm = run("finetune", [*data, *MINILM, *SETS[name]["finetune"]], out)
        distilled = run("distill", [*data, "--teacher", minilm["run_dir"], *SETS[name]["distill"]], out)
        report(name, window, bilstm, elmo, minilm, distilled)


if __name__ == "__main__":
    main()
