"""The regression (graded) and multi-label (aspects) built-in data sets: deterministic, graded by fixed rules,
free of cross-split leaks, and holding out (aspect, adjective) pairings for test."""

import random
import re
import statistics

import pytest

from pipeline.harness.data.builtin import (ASPECT_LABELS, ASPECT_PHENOMENA, ASPECTS, CONTEXT, GROUP_OF, NEGATIVE,
                                           PHENOMENA, POSITIVE, STORY_NOUNS, STRONG, WEAK, _held_out_pairs,
                                           build_aspects, build_graded, unlabeled_aspects, unlabeled_graded)

ADJECTIVES = set(POSITIVE) | set(NEGATIVE) | set(CONTEXT)
ASPECT = re.compile(r"\b(" + "|".join(re.escape(a) for a, _ in sorted(ASPECTS, key=lambda a: -len(a[0]))) + r")\b")
BUILDS = {"graded": (build_graded, unlabeled_graded), "aspects": (build_aspects, unlabeled_aspects)}


@pytest.fixture(scope="module")
def graded():
    return build_graded(0)


@pytest.fixture(scope="module")
def aspects():
    return build_aspects(0)


def _clauses(sentence: str) -> list[str]:
    return [c for part in re.split(r" , | ; | and ", sentence) for c in [part.strip()] if c]


def _pairs(sentence: str) -> set[tuple[str, str]]:
    """(aspect, adjective) of every clause: the first listed adjective after an aspect noun in its clause."""
    found = set()
    for clause in _clauses(sentence):
        for match in ASPECT.finditer(clause):
            adjective = next((w for w in clause[match.end():].split() if w in ADJECTIVES), None)
            if adjective:
                found.add((match[1], adjective))
    return found


def _adjectives(sentence: str) -> list[str]:
    return [w for w in sentence.split() if w in ADJECTIVES]


@pytest.mark.parametrize("task", BUILDS)
def test_new_tasks_are_deterministic_per_seed_and_sized_like_builtin(task, request):
    build, _ = BUILDS[task]
    first, again, other = request.getfixturevalue(task), build(0), build(1)
    assert {s: len(r) for s, r in first.items()} == {"train": 6000, "validation": 1000, "test": 2000}
    for split in first:
        assert first[split].to_dict() == again[split].to_dict()
    assert first["test"]["sentence"] != other["test"]["sentence"]


def test_graded_scores_are_spread_over_minus_one_to_one(graded):
    for split in graded.values():
        labels = list(split["label"])
        assert min(labels) >= -1 and max(labels) <= 1
        assert statistics.pstdev(labels) > 0.3 and abs(statistics.mean(labels)) < 0.05
        assert len({round(l, 3) for l in labels}) > 30
        assert set(split["phenomenon"]) == set(PHENOMENA)


def test_graded_rules_give_each_word_one_meaning(graded):
    rows = graded["train"].to_list()
    base = {}  # a bare clause fixes each adjective's score: its polarity times 0.4, 0.6 or 0.8
    for row in rows:
        if row["phenomenon"] == "plain":
            (adjective,) = _adjectives(row["sentence"])
            assert base.setdefault(adjective, row["label"]) == pytest.approx(row["label"])
    assert {round(abs(s), 3) for s in base.values()} == {0.4, 0.6, 0.8}
    assert all((s > 0) == (a in POSITIVE) for a, s in base.items())
    checked = dict.fromkeys(["negation", "intensity", "contrast", "context", "distractor"], 0)
    for row in rows:
        sentence, label, phenomenon = row["sentence"], row["label"], row["phenomenon"]
        expected = None
        if phenomenon in ("negation", "intensity"):  # "not bad" is mildly positive, "a bit dull" mildly negative
            (adjective,) = _adjectives(sentence)
            if adjective in base:
                expected = _clause_score(sentence, base) * (-0.5 if phenomenon == "negation" else 1)
        elif phenomenon == "contrast" and " , but " in sentence:
            played_down, deciding = (_clause_score(c, base) for c in sentence.split(" , but "))
            if played_down is not None and deciding is not None:
                expected = 0.25 * played_down + 0.75 * deciding
        elif phenomenon == "context":
            ((aspect, adjective),) = _pairs(sentence)
            expected = 0.6 if CONTEXT[adjective][0 if aspect in STORY_NOUNS else 1] else -0.6
        elif phenomenon == "distractor":  # the off-topic clause adds nothing
            film = next(c for c in re.split(r" , and | ; ", sentence) if _pairs(c))
            expected = base.get(_adjectives(film)[0])
        if expected is not None:
            assert label == pytest.approx(expected, abs=1e-3), sentence
            checked[phenomenon] += 1
    assert min(checked.values()) > 30, checked
    negated = [r for r in rows if r["phenomenon"] == "negation" and _adjectives(r["sentence"])[0] in base]
    assert all((r["label"] > 0) != (base[_adjectives(r["sentence"])[0]] > 0) for r in negated)


def _clause_score(clause: str, base: dict[str, float]) -> float | None:
    """The score of one clause from the bare scores: x1.25 (at most 1) after an intensifier, x0.5 after a downtoner."""
    (adjective,) = _adjectives(clause)
    if adjective not in base:
        return None
    score = base[adjective]
    if any(f" {w} {adjective}" in clause for w in WEAK):
        return 0.5 * score
    if any(f" {w} {adjective}" in clause for w in STRONG):
        return (1 if score > 0 else -1) * min(1, 1.25 * abs(score))
    return score


@pytest.mark.parametrize("task", BUILDS)
def test_new_tasks_hold_out_test_pairings_and_share_no_sentence(task, request):
    data = request.getfixturevalue(task)
    train, validation, test = (set(data[s]["sentence"]) for s in ("train", "validation", "test"))
    assert not train & validation and not train & test and not validation & test
    held_out = _held_out_pairs(random.Random(0))
    assert not set().union(*(_pairs(s) for s in train | validation)) & held_out
    about_film = [s for s, p in zip(data["test"]["sentence"], data["test"]["phenomenon"]) if p != "none"]
    assert all(_pairs(s) & held_out for s in about_film)


def test_aspect_labels_are_sorted_sets_of_known_groups(aspects):
    assert 8 <= len(ASPECT_LABELS) <= 12 and {noun for noun, _ in ASPECTS} == set(GROUP_OF)
    train = aspects["train"].to_dict()
    assert {label for labels in train["labels"] for label in labels} == set(ASPECT_LABELS)
    for split in aspects.values():
        split = split.to_dict()
        assert set(split["phenomenon"]) == set(ASPECT_PHENOMENA)
        for labels, phenomenon in zip(split["labels"], split["phenomenon"]):
            assert labels == sorted(set(labels))
            assert (not labels) == (phenomenon == "none")
    sizes = [len(labels) for labels in train["labels"]]
    assert 0.03 < sizes.count(0) / len(sizes) < 0.07
    assert sum(size > 1 for size in sizes) > 1000 and max(sizes) == 3


def test_aspect_labels_follow_the_adjective_and_its_negation(aspects):
    counted = 0
    for row in aspects["train"].to_list():
        pairs = _pairs(row["sentence"])
        if row["phenomenon"] not in ("one_aspect", "negation") or len(pairs) > 1:
            continue
        ((aspect, adjective),) = pairs
        negated = row["phenomenon"] == "negation"
        verdict = "praised" if (adjective in POSITIVE) != negated else "criticised"
        assert row["labels"] == [f"{GROUP_OF[aspect]}:{verdict}"]
        counted += 1
    assert counted > 1000


@pytest.mark.parametrize("task", BUILDS)
def test_unlabeled_sentences_are_new_and_use_only_training_pairings(task, request):
    _, unlabeled = BUILDS[task]
    transfer = unlabeled(0, 2000)
    assert len(set(transfer)) == 2000 and transfer == unlabeled(0, 2000) and unlabeled(0, 0) == []
    assert not set(transfer) & {s for split in request.getfixturevalue(task).values() for s in split["sentence"]}
    assert not set().union(*(_pairs(s) for s in transfer)) & _held_out_pairs(random.Random(0))
