import json
import random
import re

import pytest
from datasets import Dataset

from conftest import shared
from pipeline.harness.data import DataSpec, load_task
from pipeline.harness.data.builtin import (ASPECTS, CONTEXT, NEGATIVE, PHENOMENA, POSITIVE, _held_out_pairs, build_builtin,
                                   unlabeled_sentences, vocabulary)
from pipeline.harness.errors import UsageError


@pytest.fixture(scope="module")
def builtin():
    return build_builtin(0)


def test_builtin_is_deterministic_and_large_enough(builtin):
    again = build_builtin(0)
    assert {s: len(r) for s, r in builtin.items()} == {"train": 6000, "validation": 1000, "test": 2000}
    assert list(again["test"]["sentence"]) == list(builtin["test"]["sentence"])
    assert list(build_builtin(1)["test"]["sentence"]) != list(builtin["test"]["sentence"])
    assert len(vocabulary()) >= 300


def test_builtin_phenomena_are_balanced_per_label(builtin):
    for split in builtin.values():
        for phenomenon in PHENOMENA:
            labels = [l for l, p in zip(split["label"], split["phenomenon"]) if p == phenomenon]
            assert len(labels) > 50 and abs(sum(labels) / len(labels) - 0.5) < 0.01


def test_builtin_splits_do_not_overlap(builtin):
    train = set(builtin["train"]["sentence"])
    assert not train & set(builtin["validation"]["sentence"])
    assert not train & set(builtin["test"]["sentence"])


def _pairs(sentence: str) -> set:
    adjectives = set(POSITIVE) | set(NEGATIVE) | set(CONTEXT)
    words = sentence.split()
    found = set()
    for aspect, _ in ASPECTS:
        for match in re.finditer(rf"\b{re.escape(aspect)}\b", sentence):
            # the adjective of an aspect is the next listed adjective after it in the clause
            rest = sentence[match.end():].split(",")[0].split(" and ")[0].split(";")[0].split()
            following = next((w for w in rest if w in adjectives), None)
            if following:
                found.add((aspect, following))
    assert words
    return found


def test_builtin_test_sentences_use_pairings_never_seen_in_training(builtin):
    seen = set().union(*(_pairs(s) for s in builtin["train"]["sentence"]))
    novel = [bool(_pairs(s) - seen) for s in builtin["test"]["sentence"][:300]]
    assert sum(novel) / len(novel) > 0.9


def test_builtin_transfer_sentences_are_new_and_use_only_training_pairings(builtin):
    transfer = unlabeled_sentences(0, 3000)
    assert len(set(transfer)) == 3000 and transfer == unlabeled_sentences(0, 3000)
    assert not set(transfer) & {s for split in builtin.values() for s in split["sentence"]}
    held_out = _held_out_pairs(random.Random(0))  # the pairings the generator keeps for the test split
    assert set().union(*(_pairs(s) for s in builtin["test"]["sentence"])) & held_out
    assert not set().union(*(_pairs(s) for s in transfer)) & held_out


def test_builtin_contrast_second_clause_decides(builtin):
    rows = [r for r in builtin["train"] if r["phenomenon"] == "contrast" and " , but " in r["sentence"]]
    for row in rows[:50]:
        second = row["sentence"].split(" , but ")[1].split()
        has_positive = any(w in POSITIVE for w in second)
        assert has_positive == (row["label"] == 1)


def test_builtin_task_shape():
    task = load_task(DataSpec())
    assert task.label_names == ["negative", "positive"]
    assert set(task.splits["train"].column_names) == {"text", "label", "phenomenon"}
    assert task.fingerprint == load_task(DataSpec()).fingerprint
    assert task.fingerprint != load_task(DataSpec(data_seed=3)).fingerprint


def test_sst2_tsv_loads_unquoted():
    task = load_task(DataSpec(dataset=str(shared("sst2")), max_train_samples=500))
    assert len(task.splits["train"]) == 500 and len(task.splits["test"]) == 872
    assert task.label_names == ["0", "1"]
    # rows beginning with a quote character must survive (quoting is off for tsv)
    full = load_task(DataSpec(train_file=str(shared("sst2") / "test.tsv")))
    total = sum(len(s) for s in full.splits.values())
    assert total == 872


def test_ag_news_string_labels_are_mapped_and_validation_carved():
    task = load_task(DataSpec(dataset=str(shared("ag_news"))))
    assert task.label_names == ["Business", "Sci/Tech", "Sports", "World"]
    assert task.label_mapping["World"] == 3
    assert len(task.splits["validation"]) == pytest.approx(1000, abs=2)
    counts = [list(task.splits["validation"]["label"]).count(i) for i in range(4)]
    train_counts = [list(task.splits["train"]["label"]).count(i) for i in range(4)]
    for c, t in zip(counts, train_counts):  # stratified
        assert abs(c / sum(counts) - t / sum(train_counts)) < 0.01


def test_mrpc_pairs():
    task = load_task(DataSpec(dataset=str(shared("mrpc"))))
    assert task.is_pair and "text_pair" in task.splits["test"].column_names


@pytest.mark.parametrize("suffix", ["csv", "json", "jsonl", "parquet"])
def test_local_formats_and_explicit_columns(tmp_path, suffix):
    rows = {"review": [f"good film {i}" if i % 2 else f"bad film {i}" for i in range(40)],
            "stars": ["pos" if i % 2 else "neg" for i in range(40)]}
    path = tmp_path / f"train.{suffix}"
    dataset = Dataset.from_dict(rows)
    if suffix == "csv":
        dataset.to_csv(path, index=False)
    elif suffix == "parquet":
        dataset.to_parquet(path)
    elif suffix == "json":
        path.write_text(json.dumps([dict(zip(rows, v)) for v in zip(*rows.values())]))
    else:
        dataset.to_json(path)
    task = load_task(DataSpec(dataset=str(path), label_column="stars"))
    assert task.label_names == ["neg", "pos"]
    assert sum(len(s) for s in task.splits.values()) == 40
    assert task.splits["train"][0]["text"].endswith(tuple("0123456789"))


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return str(path)


BAD = [
    ("missing file", lambda d: DataSpec(train_file=str(d / "nope.csv")), "does not exist"),
    ("unknown column", lambda d: DataSpec(train_file=_write(d / "a.csv", "text,label\nhi,0\nho,1\n"),
                                          text_column="body"), "column 'body' not found; the columns are: text, label"),
    ("empty split", lambda d: DataSpec(train_file=_write(d / "a.csv", "text,label\nhi,0\nho,1\n"),
                                       test_file=_write(d / "t.csv", "text,label\n")), "split"),
    ("single class", lambda d: DataSpec(train_file=_write(d / "a.csv", "text,label\nhi,0\nho,0\nha,0\n")),
     "single class"),
    ("label outside set", lambda d: DataSpec(train_file=_write(d / "a.csv", "text,label\nhi,0\nho,1\nha,1\nhe,0\n"),
                                             test_file=_write(d / "t.csv", "text,label\nhu,7\n")),
     "labels ['7'] that the train split does not have"),
    ("not utf-8", lambda d: DataSpec(train_file=_write(d / "a.csv", "text,label\ncaf\xe9,0\nbar,1\n", "latin-1")),
     "not UTF-8"),
    ("no text column", lambda d: DataSpec(train_file=_write(d / "a.csv", "body,label\nhi,0\nho,1\n")),
     "no text column found"),
]


@pytest.mark.parametrize("name,spec,message", BAD, ids=[b[0] for b in BAD])
def test_bad_data_raises_one_clear_line(tmp_path, name, spec, message):
    with pytest.raises(UsageError) as error:
        load_task(spec(tmp_path))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_hub_dataset_without_network_fails_fast(monkeypatch):
    import time

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.time()
    with pytest.raises(UsageError, match="local folder or file"):
        load_task(DataSpec(dataset="imdb"))
    assert time.time() - start < 10


def test_rows_without_text_are_refused_or_dropped_and_counted(tmp_path):
    (tmp_path / "train.csv").write_text("text,label\na,0\n,1\nc,0\nd,1\n  ,0\ne,1\nf,0\ng,1\nh,0\ni,1\nj,0\nk,1\n")
    (tmp_path / "test.csv").write_text("text,label\na,0\nb,1\n")
    with pytest.raises(UsageError, match=r"the train split has 2 row\(s\) with no text \(file lines 3, 6\)"):
        load_task(DataSpec(dataset=str(tmp_path)))
    task = load_task(DataSpec(dataset=str(tmp_path), missing_text="drop", validation_size=0.2))
    assert task.source["dropped_missing_text"] == {"train": 2}
    assert len(task.splits["train"]) + len(task.splits["validation"]) == 10
    assert all(text.strip() for text in task.splits["train"]["text"])


def test_unlabelled_text_from_a_text_file_or_a_column(tmp_path):
    from pipeline.harness.data import load_texts

    (tmp_path / "u.txt").write_text("one review\n\n  another one  \n")
    assert load_texts(str(tmp_path / "u.txt")) == ["one review", "another one"]
    (tmp_path / "u.csv").write_text("id,review\n1,first\n2,\n3,third\n")
    assert load_texts(str(tmp_path / "u.csv")) == ["first", "third"]
    assert load_texts(str(tmp_path / "u.csv"), "review") == ["first", "third"]
    with pytest.raises(UsageError, match="has no column 'body'"):
        load_texts(str(tmp_path / "u.csv"), "body")
    with pytest.raises(UsageError, match="does not exist"):
        load_texts(str(tmp_path / "missing.txt"))


def test_transfer_set_drops_texts_the_data_already_has(tmp_path):
    from types import SimpleNamespace

    from pipeline.steps.distillation.config import DistillConfig
    from pipeline.steps.distillation.transfer import build_transfer_set

    (tmp_path / "train.csv").write_text("text,label\n" + "".join(f"row {i},{i % 2}\n" for i in range(40)))
    (tmp_path / "test.csv").write_text("text,label\ntest a,0\ntest b,1\n")
    (tmp_path / "u.txt").write_text("row 1\ntest a\nfresh one\nfresh one\nfresh two\n")
    spec = DataSpec(dataset=str(tmp_path), max_train_samples=20)
    task = load_task(spec)
    settings = DistillConfig(unlabeled_file=str(tmp_path / "u.txt"))
    transfer = build_transfer_set(task, spec, settings, teacher_tokenizer=SimpleNamespace(mask_token="[MASK]"),
                                  teacher_embeddings=None, seed=0)
    assert transfer.sources["left-out train rows"] == len(task.left_out) > 0
    assert transfer.sources[str(tmp_path / "u.txt")] == 2  # 'row 1' and 'test a' are already in the data
    texts = [text for text, _ in transfer.inputs]
    assert "fresh one" in texts and "test a" not in texts
    assert not set(texts) & set(task.splits["train"]["text"])


def test_on_sentence_pairs_the_distiller_trains_and_labels_both_sentences(tmp_path):
    """MRPC-like data: the left-out train rows join the transfer set as pairs, and the rows the teacher labels
    and the student trains on carry the second sentence, as the test rows do."""
    from types import SimpleNamespace

    from pipeline.steps.distillation.config import DistillConfig
    from pipeline.steps.distillation.distiller import Distiller
    from pipeline.steps.distillation.transfer import build_transfer_set

    rows = "".join(f"first {i},second {i},{i % 2}\n" for i in range(40))
    (tmp_path / "train.csv").write_text("sentence1,sentence2,label\n" + rows)
    (tmp_path / "test.csv").write_text("sentence1,sentence2,label\nfirst 1,second 1,1\ntest a,test b,0\n")
    spec = DataSpec(dataset=str(tmp_path), max_train_samples=20)
    task = load_task(spec)
    assert task.is_pair
    transfer = build_transfer_set(task, spec, DistillConfig(), teacher_tokenizer=SimpleNamespace(mask_token="[MASK]"),
                                  teacher_embeddings=None, seed=0)
    assert transfer.sources["left-out train rows"] == len(transfer.inputs) > 0
    assert all(text.replace("first", "second") == pair for text, pair in transfer.inputs)
    assert ("first 1", "second 1") not in transfer.inputs  # a test pair stays out
    distiller = object.__new__(Distiller)
    distiller.task, distiller.transfer = task, transfer
    trained = distiller._rows()
    assert len(trained) == 20 + len(transfer.inputs)
    assert [(a.replace("first", "second")) for a in trained["text"]] == trained["text_pair"]
