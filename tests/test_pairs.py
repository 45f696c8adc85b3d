"""The BiLSTM student on sentence pairs: each sentence read alone by the same network and compared, distilled,
exported and served like the other students."""

import json
import random

import numpy as np
import pytest
import torch

from conftest import run_recipe
from pipeline.harness.models import load_tokenizer
from pipeline.predictor import load_predictor

WORDS = "red green blue cat dog bird sun moon tree river stone cloud".split()


def pairs(folder, rows: int, seed: int) -> None:
    """Paraphrase-like pairs: 'same' when the two sentences share their first word."""
    rng = random.Random(seed)
    lines = ["sentence1,sentence2,label"]
    for _ in range(rows):
        first = rng.sample(WORDS, 4)
        second = ([first[0]] if rng.random() < 0.5 else [rng.choice(WORDS[1:])]) + rng.sample(WORDS, 3)
        lines.append(f"{' '.join(first)},{' '.join(second)},{'same' if second[0] == first[0] else 'other'}")
    (folder / f"{'train' if seed == 0 else 'test'}.csv").write_text("\n".join(lines) + "\n")


def test_pair_student_reads_each_sentence_alone_and_serves_pairs(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    pairs(data, 400, 0)
    pairs(data, 80, 1)
    out = tmp_path / "out"
    assert run_recipe("distill", ["--dataset", str(data), "--teacher", "bert-tiny", "--teacher_epochs", "1",
                                  "--no_teacher_guard", "--max_train_samples", "200", "--epochs", "1",
                                  "--student_steps", "0",
                                  "--batch_size", "16", "--output_dir", str(out)]) == 0
    run = next(p for p in out.glob("distill-bilstm-distill-*") if (p / "results.json").is_file())
    config = json.loads((run / "model" / "config.json").read_text())
    assert config["pair_features"] is True
    tokenizer = load_tokenizer(str(run / "model"))
    assert "token_type_ids" in tokenizer.model_input_names

    from transformers import AutoModelForSequenceClassification

    import pipeline  # noqa: F401  (registration)

    model = AutoModelForSequenceClassification.from_pretrained(str(run / "model")).eval()
    # The pair's features do not depend on padding or on what else the batch holds: each sentence alone.
    alone = tokenizer(["red cat sun tree"], ["red dog moon stone"], return_tensors="pt")
    batched = tokenizer(["red cat sun tree", "a"], ["red dog moon stone", "b c d e f g h"], padding=True,
                        return_tensors="pt")
    with torch.no_grad():
        assert torch.allclose(model(**alone).logits[0], model(**batched).logits[0], atol=1e-5)

    texts = ["red cat sun tree ||| red dog moon stone", "blue sun cat dog ||| cloud river tree moon"]
    ours = load_predictor(run).outputs(texts)
    exported = load_predictor(run, export="onnx").outputs(texts)
    assert np.allclose(ours, exported, atol=1e-4)

    from transformers import pipeline as hf_pipeline

    served = hf_pipeline("text-classification", model=str(run / "model"), top_k=None)(
        [{"text": "red cat sun tree", "text_pair": "red dog moon stone"}])
    probabilities = dict(zip(config["id2label"].values(), ours[0].tolist()))
    assert {d["label"]: d["score"] for d in served[0]} == pytest.approx(probabilities, abs=1e-5)
