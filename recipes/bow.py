"""Step one of the road: one-hot / bag-of-words and n-gram classifiers.

    python recipes/bow.py --features binary --ngram_max 1      # one-hot bag of words
    python recipes/bow.py --features tfidf --ngram_max 2       # TF-IDF 1-2-grams, logistic regression
    python recipes/bow.py --features tfidf --analyzer char_wb --ngram_min 2 --ngram_max 5
    accelerate launch recipes/bow.py --features fasttext --epochs 5 --learning_rate 0.05
    python recipes/bow.py --dataset ../shared/data/conll2003 --window 2   # tag words: the window tagger

The lesson: counting words gets plain polarity right and fails where order matters (negation,
"X , but Y"); bigrams win some of that back. To tag words, the classic baseline reads one-hot features
of a word and its neighbours: no network, and a strong line for a neural tagger to beat.
"""

import time

import skops.io

from pipeline.harness.cards import model_card, push_run
from pipeline.harness.config import parse_options, run_cli
from pipeline.harness.data import DataSpec, encode, joined_texts, load_task
from pipeline.harness.evaluation import evaluate_texts
from pipeline.harness.finetuning import train_and_record
from pipeline.harness.models import LoadedModel, describe_model, train_tokenizer
from pipeline.steps.fasttext import FastTextClassifier, FastTextConfig
from pipeline.steps.ngrams import NgramConfig, build_linear, describe_linear
from pipeline.harness.records import build_record, finish_run
from pipeline.harness.runs import RunOptions, start_run
from pipeline.harness.reports import markdown_table, result_rows
from pipeline.harness.training import TrainConfig, make_accelerator


def main() -> None:
    (data_spec, ngram, train_config, options), config = parse_options(
        (DataSpec, NgramConfig, TrainConfig, RunOptions), __doc__)
    accelerator = make_accelerator(train_config)

    # 1. Data.
    task = load_task(data_spec, tags_words=True)
    ngram.check_applies(task.task_type)
    train_texts = joined_texts(task.splits["train"])
    if task.task_type.reads_words:
        method, name = "window", f"window-{ngram.window}"
    else:
        method = "bow" if ngram.ngram_max == 1 and ngram.analyzer == "word" else "ngram"
        name = f"{ngram.features}-{ngram.analyzer}-{ngram.ngram_min}{ngram.ngram_max}"

    if ngram.features == "fasttext":
        # 2a. fastText: word + hashed bigram embeddings, averaged, one linear layer; trained on the harness loop.
        tokenizer = train_tokenizer("wordlevel", train_texts, 50_000, "fasttext")
        tokenizer.model_input_names = ["input_ids", "attention_mask"]
        model = FastTextClassifier(FastTextConfig(vocab_size=len(tokenizer), embedding_dim=ngram.embedding_dim,
                                                  buckets=ngram.buckets, **task.head()))
        info = describe_model(model, name="fasttext", family="fasttext")
        encoded = encode(task, tokenizer, 512)
        run = start_run(options, "bow", parts=[name, task.name], config=config, accelerator=accelerator)
        record = train_and_record(run, LoadedModel(model, tokenizer, info), task, encoded, train_config=train_config,
                                  accelerator=accelerator, resume=options.resume, max_length=512, recipe="bow",
                                  method="ngram")
    else:
        # 2b. A vectorizer (one-hot, counts or TF-IDF over n-grams; to tag words, one-hot window features) and
        #     a linear classifier.
        pipeline = build_linear(ngram, train_config.seed, task.task_type, class_weights=task.class_weights)
        run = start_run(options, "bow", parts=[name, task.name], config=config, accelerator=accelerator)
        start = time.perf_counter()
        pipeline.fit(*task.task_type.linear_inputs(train_texts, task.splits["train"]["label"]))
        fit_seconds = time.perf_counter() - start
        info = describe_linear(pipeline, name=name)

        # 3. Evaluate on test, record the run with the fitted pipeline.
        metrics, predictions = evaluate_texts(lambda texts: task.task_type.linear_outputs(pipeline, texts), task,
                                              train_config.seed)
        record = build_record(run, task, recipe="bow", method=method, model_info=info, metrics=metrics,
                              training=None, accelerator=accelerator, seed=train_config.seed, fit_seconds=fit_seconds)
        record.timings["seconds_per_epoch"] = fit_seconds
        finish_run(run, record, predictions=predictions, task=task,
                   write=lambda folder: (skops.io.dump(pipeline, folder / "pipeline.skops"),
                                         model_card(record).save(folder / "README.md")))
    accelerator.print(f"\n{record.run_dir}\n" + markdown_table(result_rows(record), ["metric", "value"]))

    # 4. Shared on the Hugging Face Hub with --push_to_hub: the model folder and its card.
    push_run(record, options, is_main_process=accelerator.is_main_process)


if __name__ == "__main__":
    run_cli(main)
