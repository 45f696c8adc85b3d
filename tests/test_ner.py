"""Token classification as users meet it: words and tags from JSON lines, CoNLL column files or the built-in
set; each word's tag read on its first piece; entity-level scores; the window tagger, the BiLSTM tagger and
fine-tuned transformers; entity spans from a saved run, as transformers' pipeline gives them."""

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import run_recipe, shared
from pipeline.harness.data import DataSpec, encode, load_task
from pipeline.harness.data.builtin import NEGATIVE, POSITIVE, build_tagged
from pipeline.harness.errors import UsageError
from pipeline.harness.models import _minilm_path, load_tokenizer
from pipeline.harness.scoring import load_metric
from pipeline.harness.tasks import TASK_TYPES
from pipeline.predictor import load_predictor

KIND = TASK_TYPES["token_classification"]
SMALL = ["--task_type", "token_classification", "--max_train_samples", "300", "--max_eval_samples", "150"]
SENTENCE = "the plot was not dull , but the acting was superb ."


def jsonl(path: Path, rows: list[tuple[list[str], list]]) -> str:
    path.write_text("".join(json.dumps({"tokens": words, "ner_tags": tags}) + "\n" for words, tags in rows))
    return str(path)


def finished(out: Path) -> Path:
    return next(p for p in out.iterdir() if (p / "results.json").is_file())


def test_builtin_tags_mean_what_the_clause_says():
    """Aspects are ASPECT spans; an opinion word is tagged with what its clause means ('not dull' praises);
    opinions about other things (the popcorn) are not tagged."""
    splits = build_tagged(0)
    rows = splits["train"]
    assert all(len(w) == len(t) for w, t in zip(rows["tokens"], rows["ner_tags"]))
    negated = [(w, t) for w, t, p in zip(rows["tokens"], rows["ner_tags"], rows["phenomenon"]) if p == "negation"]
    flipped = [(word, tag) for words, tags in negated for word, tag in zip(words, tags) if tag in ("B-POS", "B-NEG")]
    assert flipped and all((word in NEGATIVE) == (tag == "B-POS") for word, tag in flipped)
    distracted = [(w, t) for w, t, p in zip(rows["tokens"], rows["ner_tags"], rows["phenomenon"]) if p == "distractor"]
    assert all(sum(tag.startswith("B-") and tag != "B-ASPECT" for tag in tags) == 1 for _, tags in distracted)
    assert any(tag == "I-ASPECT" for tags in rows["ner_tags"] for tag in tags)  # 'special effects'
    off_topic = [sum(tag == "O" and word in POSITIVE + NEGATIVE for word, tag in zip(words, tags))
                 for words, tags in distracted]
    assert all(count == 1 for count in off_topic)  # the popcorn's adjective, left untagged


def test_conll_files_and_json_lines_give_the_same_task(tmp_path):
    rows = [(["EU", "rejects", "German", "call"], ["B-ORG", "O", "B-MISC", "O"]), (["Peter", "Blackburn"],
                                                                                    ["B-PER", "I-PER"])]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for split in ("train", "test"):
        jsonl(tmp_path / "a" / f"{split}.jsonl", rows * 10)
        (tmp_path / "b" / f"{split}.conll").write_text("-DOCSTART- -X- O O\n\n" + "\n\n".join(
            "\n".join(f"{w} NNP B-NP {t}" for w, t in zip(words, tags)) for words, tags in rows * 10) + "\n")
    a, b = (load_task(DataSpec(dataset=str(tmp_path / name), data_seed=1), tags_words=True) for name in "ab")
    assert a.task_type.name == b.task_type.name == "token_classification"
    assert a.describe()["task_type_from"] == "detected"
    assert a.label_names == b.label_names == ["O", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    assert a.splits["test"]["label"] == b.splits["test"]["label"]
    assert a.splits["test"]["text"][1] == "Peter Blackburn" and a.splits["test"]["label"][1] == [5, 6]
    with pytest.raises(UsageError, match="this recipe classifies whole texts; tag words with recipes/finetune.py"):
        load_task(DataSpec(dataset=str(tmp_path / "a")))


def test_integer_tags_take_their_names_and_one_order(tmp_path):
    """The hub's conll2003 stores ids; with names they become the same task as string tags."""
    folder = tmp_path / "ids"
    folder.mkdir()
    for split in ("train", "test"):
        jsonl(folder / f"{split}.jsonl", [(["Angela", "Merkel", "in", "Paris"], [1, 2, 0, 3])] * 10)
    with pytest.raises(UsageError, match="name them in id order with --label_names"):
        load_task(DataSpec(dataset=str(folder)), tags_words=True)
    task = load_task(DataSpec(dataset=str(folder), label_names="O,B-PER,I-PER,B-LOC,I-LOC"), tags_words=True)
    assert task.label_names == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert task.splits["test"]["label"][0] == [3, 4, 0, 1]


def test_each_word_is_read_on_its_first_piece():
    """The tag goes on a word's first piece, -100 on the rest and on special tokens (every piece with
    --label_all_tokens); `word_starts` marks where predictions are read either way."""
    tokenizer = load_tokenizer(_minilm_path())
    task = load_task(DataSpec(task_type="token_classification", max_train_samples=20), tags_words=True)
    encoded = encode(task, tokenizer, 64)["train"][0]
    words = task.splits["train"][0]["tokens"]
    pieces = [len(tokenizer.tokenize(word)) for word in words]
    assert len(encoded["input_ids"]) == sum(pieces) + 2
    assert [n for n in encoded["word_starts"] if n] == list(range(1, len(words) + 1))
    firsts = [label for label, start in zip(encoded["labels"], encoded["word_starts"]) if start]
    assert firsts == task.splits["train"][0]["label"]
    assert encoded["labels"].count(-100) == 2 + sum(pieces) - len(words)
    copied = load_task(DataSpec(task_type="token_classification", max_train_samples=20, label_all_tokens=True),
                       tags_words=True)
    assert encode(copied, tokenizer, 64)["train"][0]["labels"].count(-100) == 2


def test_words_keep_their_places_whatever_the_padding_side_or_pieces():
    """A word the tokenizer makes no piece of (a zero-width space) leaves its place empty, and left padding
    (XLNet's) shifts no word: each word's logits are its own first piece's."""
    import torch

    from pipeline.harness.evaluation import per_word

    tokenizer = load_tokenizer(_minilm_path())
    rows = [(["Paris", "\u200b", "France"], [1, 0, 1]), (["Angela", "Merkel", "visited", "Paris", "today"],
                                                          [3, 4, 0, 1, 0])]
    for side in ("right", "left"):
        tokenizer.padding_side = side
        encoded = [{("labels" if k == "label" else k): v[0] for k, v in
                    KIND.tokenize({"tokens": [words], "label": [tags]}, tokenizer, 32).items()} for words, tags in rows]
        batch = KIND.collator(tokenizer)(encoded)
        firsts = per_word(batch["input_ids"][..., None].float(), batch["word_starts"])[..., 0]
        expected = [[tokenizer.convert_tokens_to_ids(tokenizer.tokenize(w)[0]) if tokenizer.tokenize(w) else None
                     for w in words] for words, _ in rows]
        assert firsts.shape == (2, 5) and torch.isnan(firsts[0, 1]) and torch.isnan(firsts[0, 3:]).all()
        assert [[None if torch.isnan(v) else int(v) for v in row[:len(e)]] for row, e in zip(firsts, expected)] \
            == expected
        references = KIND.encoded_references({k: [e[k] for e in encoded] for k in ("labels", "word_starts")})
        assert references.tolist() == [[1, -1, 1, -1, -1], [3, 4, 0, 1, 0]]
    tokenizer.padding_side = "right"


def test_entity_scores_match_seqeval_and_resample_by_sentence():
    names = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-LOC", "I-LOC"], ["B-PER", "O"]]
    guessed = [["B-PER", "I-PER", "O", "O"], ["O", "B-LOC", "O"], ["B-PER", "B-LOC"]]
    references = KIND.stack([[names.index(t) for t in row] for row in gold])
    predictions = KIND.stack([[names.index(t) for t in row] for row in guessed])
    metrics = KIND.score(predictions, references, names)
    expected = load_metric("seqeval").compute(predictions=guessed, references=gold)
    assert metrics["f1"] == pytest.approx(expected["f1"]) == pytest.approx(2 * 2 / (4 + 4))
    assert metrics["per_class"]["PER"]["f1"] == 1.0 and metrics["per_class"]["LOC"]["support"] == 2
    assert metrics["f1_ci95"][0] <= metrics["f1"] <= metrics["f1_ci95"][1]
    statistic = KIND.statistic(predictions, references)
    assert statistic(np.array([[0, 1, 2], [2, 2, 2]])) == pytest.approx([0.5, 2 / 3])
    cut = predictions[:, :2]  # a model that saw two words of each sentence: the rest count as 'O'
    assert KIND.validation_scores(cut, references)["recall"] == pytest.approx(2 / 4)


def test_window_tagger_learns_and_predicts_spans(tmp_path, capsys):
    out = tmp_path / "out"
    assert run_recipe("bow", [*SMALL, "--output_dir", str(out)]) == 0
    run = finished(out)
    record = json.loads((run / "results.json").read_text())
    assert record["method"] == "window" and record["task"]["task_type"] == "token_classification"
    assert record["metrics"]["f1"] > 0.6 and set(record["metrics"]["per_class"]) == {"ASPECT", "NEG", "POS"}
    lines = (run / "test_predictions.tsv").read_text().splitlines()
    assert len(lines) == 151 and len(lines[1].split("\t")[1].split()) == len(load_task(
        DataSpec(task_type="token_classification", max_eval_samples=150), tags_words=True).splits["test"][0]["tokens"])
    shown, line = load_predictor(run).readable([SENTENCE])[0]
    aspects = [(e["word"], e["start"], e["end"]) for e in shown["entities"] if e["entity_group"] == "ASPECT"]
    assert aspects == [("plot", 4, 8), ("acting", 32, 38)]
    assert line.startswith("ASPECT plot")
    capsys.readouterr()
    assert run_recipe("predict", [str(run), SENTENCE]) == 0
    assert capsys.readouterr().out.strip().endswith(f"\t{SENTENCE}")


def test_bilstm_tagger_trains_and_loads_for_prediction(tmp_path):
    out = tmp_path / "out"
    assert run_recipe("rnn", [*SMALL, "--epochs", "3", "--batch_size", "16", "--learning_rate", "5e-3", "--output_dir", str(out)]) == 0
    run = finished(out)
    record = json.loads((run / "results.json").read_text())
    assert record["model"]["class"] == "RecurrentTagger" and record["metrics"]["f1"] > 0.5
    outputs = load_predictor(run).outputs([SENTENCE, "the plot was dull ."])
    assert outputs.shape[:2] == (2, 12) and np.isnan(outputs[1, 5:]).all()
    assert np.allclose(outputs[0].sum(-1), 1.0, atol=1e-5)
    # transformers' own token-classification pipeline loads the run and finds the spans the predictor finds.
    from transformers import pipeline as hf_pipeline

    served = hf_pipeline("token-classification", model=str(run / "model"), aggregation_strategy="first")(SENTENCE)
    ours = load_predictor(run).readable([SENTENCE])[0][0]["entities"]
    assert ours and [(e["entity_group"], e["start"], e["end"]) for e in served] == [
        (e["entity_group"], e["start"], e["end"]) for e in ours]
    assert [float(e["score"]) for e in served] == pytest.approx([e["score"] for e in ours], abs=1e-5)


def test_elmo_tagger_mixes_frozen_layers_and_tags_raw_text(tmp_path):
    """ELMo's setup for named entities: a scalar mix of frozen MiniLM's layers under a BiLSTM tagger, trained on
    cached layers, compared with the window tagger, and tagging raw text through the predictor as it tagged the
    test sentences."""
    out = tmp_path / "out"
    assert run_recipe("elmo", [*SMALL, "--encoder", "minilm", "--epochs", "5", "--learning_rate", "5e-3",
                               "--hidden_size", "64", "--output_dir", str(out)]) == 0
    run = finished(out)
    record = json.loads((run / "results.json").read_text())
    assert record["model"]["class"] == "ELMoTagger" and record["metrics"]["f1"] > 0.5
    assert len(record["mix"]["weights"]) == 7 and record["versus_baseline"]["baseline"].startswith("word-window")
    assert record["versus_baseline"]["test"] == "paired bootstrap"
    written = [line.split("\t")[1] for line in (run / "test_predictions.tsv").read_text().splitlines()[1:21]]
    texts = load_task(DataSpec(task_type="token_classification", max_eval_samples=150),
                      tags_words=True).splits["test"]["text"][:20]
    predictor = load_predictor(run)
    tagged = [KIND.format(row, predictor.label_names) for row in KIND.decide(predictor.outputs(texts), 0.5)]
    same = np.mean([a == b for w, t in zip(written, tagged) for a, b in zip(w.split(), t.split())])
    assert same >= 0.97  # the cache keeps layers in float16, the predictor runs the encoder in float32


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> Path:
    """MiniLM fine-tuned to tag the built-in sentences (300 of them, 2 short epochs)."""
    out = tmp_path_factory.mktemp("tagger")
    assert run_recipe("finetune", [*SMALL, "--model", "minilm", "--epochs", "2", "--learning_rate", "3e-4",
                                   "--batch_size", "16", "--output_dir", str(out)]) == 0
    return finished(out)


def test_fine_tuned_tagger_loads_in_the_transformers_pipeline(tagger):
    """A fine-tuned run is an AutoModelForTokenClassification folder: the pipeline reading each word's first
    piece gives the tags and scores our predictor gives."""
    from transformers import pipeline

    run = tagger
    record = json.loads((run / "results.json").read_text())
    assert record["metrics"]["f1"] > 0.3 and "entity F1" in (run / "model" / "README.md").read_text()
    tagger = pipeline("token-classification", model=str(run / "model"), aggregation_strategy="none",
                      ignore_labels=[])
    starts = {start for _, start, _ in KIND.words(SENTENCE)}
    firsts = [piece for piece in tagger(SENTENCE) if piece["start"] in starts]  # each word's first piece
    predictor = load_predictor(run)
    probabilities = predictor.outputs([SENTENCE])[0]
    assert [piece["entity"] for piece in firsts] == [predictor.label_names[i] for i in probabilities.argmax(-1)]
    assert [piece["score"] for piece in firsts] == pytest.approx(probabilities.max(-1).tolist(), abs=1e-5)
    assert {piece["entity"] for piece in firsts} > {"O", "B-ASPECT"}


def test_distilled_tagger_learns_each_word_from_the_teacher(tagger, tmp_path):
    """The BiLSTM tagger distilled from the fine-tuned tagger's per-word soft targets: the comparison with its
    labels-only twin (paired bootstrap over sentences), and int8 ONNX that tags as the model does."""
    out = tmp_path / "out"
    assert run_recipe("distill", [*SMALL, "--teacher", str(tagger), "--no_left_out", "--generated", "600",
                                  "--student_steps", "0",
                                  "--epochs", "3", "--batch_size", "32", "--learning_rate", "5e-3",
                                  "--output_dir", str(out)]) == 0
    run = next(p for p in out.glob("distill-bilstm-distill-*") if (p / "results.json").is_file())
    record = json.loads((run / "results.json").read_text())
    table = {row["model"]: row for row in record["comparison"]}
    assert table["student, distilled"]["metric"] == "entity F1"
    assert table["student, distilled"]["versus_baseline"]["test"] == "paired bootstrap"
    assert record["metrics"]["f1"] > 0.3 and record["transfer"] == {"built-in generator": 600}
    exported = load_predictor(run, export="onnx-int8").outputs([SENTENCE])[0]
    model = load_predictor(run).outputs([SENTENCE])[0]
    assert exported.shape == model.shape == (12, 7)
    assert (exported.argmax(-1) == model.argmax(-1)).mean() >= 0.9


def test_conll2003_loads_as_named_entities():
    task = load_task(DataSpec(dataset=str(shared("conll2003")), max_train_samples=50), tags_words=True)
    assert task.label_info["entity_types"] == ["LOC", "MISC", "ORG", "PER"]
    assert task.describe()["sizes"] == {"train": 50, "validation": 3250, "test": 3453}
    assert task.splits["test"]["tokens"][0][:3] == ["SOCCER", "-", "JAPAN"]
