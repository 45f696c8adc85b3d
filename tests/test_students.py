"""The BiLSTM student's word embeddings start from the teacher's pretrained checkpoint: each word as it reads it."""

import torch

from pipeline.harness.models import ModelSpec, load_model
from pipeline.harness.tasks import TASK_TYPES, head_for
from pipeline.steps.distillation.students import STUDENTS, StudentRecipe, build_student, word_vectors

ANIMALS = "cat dog horse cow sheep goat pig mouse rabbit lion tiger bear wolf fox deer".split()
DAYS = "monday tuesday wednesday thursday friday saturday sunday january february march april june july".split()


def test_word_vectors_keep_what_the_encoder_knows_of_each_word():
    head = head_for(["negative", "positive"], TASK_TYPES["single_label"])
    minilm = load_model(ModelSpec(model="minilm"), head)
    words = ANIMALS + DAYS
    vectors = torch.nn.functional.normalize(word_vectors(words, minilm, 16), dim=-1)
    similar = vectors @ vectors.T
    similar.fill_diagonal_(-2)
    nearest = similar.argmax(1)
    # Each word's nearest neighbour is of its own kind: what a randomly initialised embedding cannot know.
    same_kind = [(i < len(ANIMALS)) == (int(j) < len(ANIMALS)) for i, j in enumerate(nearest)]
    assert sum(same_kind) >= 0.9 * len(words), [(w, words[int(j)]) for w, j in zip(words, nearest)]
    assert vectors.shape == (len(words), 16)


def test_the_bilstm_starts_from_its_teachers_pretrained_words_and_from_random_without_one():
    head = head_for(["negative", "positive"], TASK_TYPES["single_label"])
    texts = [f"the {a} met the {b} on {d}" for a, b, d in zip(ANIMALS, ANIMALS[::-1], DAYS)]
    spec = ModelSpec(max_length=32)
    known = build_student(STUDENTS["bilstm"], StudentRecipe(None, "minilm", texts, head, spec, None), seed=1)
    unknown = build_student(STUDENTS["bilstm"], StudentRecipe(None, None, texts, head, spec, None), seed=1)
    assert known.info["embeddings"].startswith("minilm's reading of each word")
    assert unknown.info["embeddings"] == "random"
    ids = known.tokenizer.convert_tokens_to_ids(["cat", "dog", "monday"])
    weights = torch.nn.functional.normalize(known.model.embedding.weight[ids], dim=-1)
    assert weights[0] @ weights[1] > weights[0] @ weights[2]  # cat is nearer dog than monday
    assert not torch.equal(known.model.embedding.weight, unknown.model.embedding.weight)
    assert torch.equal(known.model.embedding.weight[known.tokenizer.pad_token_id], torch.zeros(300))
