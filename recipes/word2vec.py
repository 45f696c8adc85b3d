"""Step two of the road: word vectors with gensim (CBOW or skip-gram), and a classifier on their average.

    python recipes/word2vec.py --architecture cbow
    python recipes/word2vec.py --architecture skipgram --weighting tfidf --neighbors superb dull --analogy good,great,bad
    python recipes/word2vec.py --pretrained vectors.bin             # word2vec text (.txt) or binary (.bin)

The lesson: vectors learn that "superb" and "brilliant" are alike, but an average of them still
forgets word order, so negation and contrast stay hard.
"""


from pipeline.harness.cards import model_card, push_run
from pipeline.harness.config import parse_options, run_cli
from pipeline.harness.data import DataSpec, joined_texts, load_task
from pipeline.harness.evaluation import evaluate_texts
from pipeline.harness.records import build_record, finish_run
from pipeline.harness.runs import RunOptions, start_run
from pipeline.harness.reports import markdown_table, result_rows
from pipeline.harness.training import TrainConfig, make_accelerator
from pipeline.steps.word2vec import (VectorClassifier, Word2VecConfig, check, evaluate_vectors, load_vectors, queries,
                               train_vectors)


def main() -> None:
    (data_spec, w2v, options), config = parse_options((DataSpec, Word2VecConfig, RunOptions), __doc__)
    accelerator = make_accelerator(TrainConfig(seed=w2v.seed))

    # 1. Data, and the run folder once every option is known to be good.
    check(w2v)
    task = load_task(data_spec)
    texts = joined_texts(task.splits["train"])
    name = "pretrained" if w2v.pretrained else w2v.architecture
    pretrained = load_vectors(w2v.pretrained) if w2v.pretrained else None  # a bad file is refused before the folder
    linear = task.task_type.linear_model("logreg", 1.0, w2v.seed, class_weights=task.class_weights)
    run = start_run(options, "word2vec", parts=[name, w2v.weighting, task.name], config=config,
                    accelerator=accelerator)

    # 2. Word vectors: trained here (CBOW or skip-gram) or loaded.
    if w2v.pretrained:
        vectors, training = pretrained, {"pretrained": w2v.pretrained}
    else:
        vectors, training = train_vectors(texts, w2v)

    # 3. What the vectors know: gensim's benchmarks and the queries asked for.
    evaluation = evaluate_vectors(vectors)
    asked = queries(vectors, w2v.neighbors, w2v.analogy)

    # 4. A classifier over sentence vectors, evaluated on test.
    classifier = VectorClassifier(vectors, task.task_type, w2v.weighting, classifier=linear).fit(
        texts, task.task_type.references(task.splits["train"]["label"]))
    metrics, predictions = evaluate_texts(classifier.outputs, task, w2v.seed)

    # 5. Record the run with the vectors and the classifier.
    info = classifier.describe(name=f"word2vec-{name}-{w2v.weighting}")
    record = build_record(run, task, recipe="word2vec", method="word2vec", model_info=info, metrics=metrics,
                          training=None, accelerator=accelerator, seed=w2v.seed,
                          word_vectors={**training, **evaluation}, queries=asked)
    record.timings["seconds_per_epoch"] = training.get("train_seconds", 0.0) / w2v.w2v_epochs
    finish_run(run, record, predictions=predictions, task=task,
               write=lambda folder: (classifier.save(folder), model_card(record).save(folder / "README.md")))

    print(f"\n{record.run_dir}\n" + markdown_table(result_rows(record), ["metric", "value"]))
    print("\nword vectors: " + ", ".join(
        f"{k} {v}" for k, v in {"words/s": f"{training.get('words_per_second', 0):,.0f}",
                                "analogies": f"{evaluation['analogies']['accuracy']:.3f} (OOV {evaluation['analogies']['oov_ratio']:.0%})",
                                "wordsim353 spearman": evaluation["wordsim353"]["spearman"],
                                "simlex999 spearman": evaluation["simlex999"]["spearman"]}.items()))
    for word, found in asked["neighbors"].items():
        print(f"nearest to {word}: {found if isinstance(found, str) else ', '.join(w for w, _ in found)}")
    for text, found in asked["analogies"].items():
        print(f"{text}: {found if isinstance(found, str) else ', '.join(w for w, _ in found)}")

    # 6. Shared on the Hugging Face Hub with --push_to_hub: the vectors, the classifier and the card.
    push_run(record, options)


if __name__ == "__main__":
    run_cli(main)
