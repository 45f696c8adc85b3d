import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from datasets import Dataset
from transformers import DataCollatorWithPadding

from conftest import TINY, launch, run_recipe
from pipeline.distillation import distillation_loss, extract_student, parse_layer_map, teacher_logits
from pipeline.errors import UsageError
from pipeline.models import ModelSpec, load_model

LABELS = ["negative", "positive"]


def kd(student, teacher, temperature, labels=None, weight=None, alpha_kd=1.0, alpha_hard=0.0):
    labels = torch.zeros(len(student), dtype=torch.long) if labels is None else labels
    weight = torch.ones(len(student)) if weight is None else weight
    return distillation_loss(student, teacher, labels, weight, temperature, alpha_kd, alpha_hard)


def test_soft_loss_is_t_squared_times_kl_by_hand():
    student = torch.tensor([[1.0, -1.0, 0.5], [0.0, 2.0, -1.0]])
    teacher = torch.tensor([[2.0, 0.0, -1.0], [-1.0, 1.0, 1.0]])
    for t in (1.0, 2.0, 4.0):
        p = torch.softmax(teacher / t, -1)
        q = torch.softmax(student / t, -1)
        by_hand = t ** 2 * (p * (p.log() - q.log())).sum(-1).mean()
        torch.testing.assert_close(kd(student, teacher[:, None], t), by_hand)


def test_soft_loss_is_zero_when_student_equals_teacher():
    logits = torch.randn(5, 3)
    assert kd(logits, logits[:, None], 3.0).abs() < 1e-6


def test_soft_gradient_at_t1_is_the_softmax_difference():
    student = torch.randn(4, 3, requires_grad=True)
    teacher = torch.randn(4, 3)
    kd(student, teacher[:, None], 1.0).backward()
    expected = (torch.softmax(student, -1) - torch.softmax(teacher, -1)).detach() / 4
    torch.testing.assert_close(student.grad, expected)


def test_hard_term_skips_augmented_rows_and_teachers_are_averaged():
    student = torch.randn(3, 2)
    labels = torch.tensor([0, 1, 1])
    weight = torch.tensor([1.0, 1.0, 0.0])
    hard = kd(student, student[:, None], 1.0, labels, weight, alpha_kd=0.0, alpha_hard=1.0)
    torch.testing.assert_close(hard, F.cross_entropy(student[:2], labels[:2]))
    a, b = torch.randn(3, 2), torch.randn(3, 2)
    two = kd(student, torch.stack([a, b], 1), 1.0)
    averaged = (torch.softmax(a, -1) + torch.softmax(b, -1)) / 2
    torch.testing.assert_close(two, F.kl_div(F.log_softmax(student, -1), averaged, reduction="batchmean"))


@pytest.fixture(scope="module")
def minilm():
    return load_model(ModelSpec(model="minilm"), LABELS)


def test_extracted_student_copies_the_chosen_teacher_layers(minilm):
    teacher = minilm.model.eval()
    student = extract_student(teacher, [0, 2, 4]).eval()
    assert student.config.n_layers == 3 and student.config.dim == 384
    for target, source in zip(student.distilbert.transformer.layer, [teacher.bert.encoder.layer[i] for i in (0, 2, 4)]):
        assert torch.equal(target.attention.q_lin.weight, source.attention.self.query.weight)
        assert torch.equal(target.attention.v_lin.bias, source.attention.self.value.bias)
        assert torch.equal(target.ffn.lin1.weight, source.intermediate.dense.weight)
        assert torch.equal(target.output_layer_norm.weight, source.output.LayerNorm.weight)
    assert torch.equal(student.distilbert.embeddings.word_embeddings.weight,
                       teacher.bert.embeddings.word_embeddings.weight)
    assert torch.equal(student.classifier.weight, teacher.classifier.weight)
    ids = minilm.tokenizer(["the plot was not bad ."], return_tensors="pt")["input_ids"]
    with torch.no_grad():  # token type 0 folded into the positions: the same embedding output
        torch.testing.assert_close(student.distilbert.embeddings(ids), teacher.bert.embeddings(input_ids=ids))
        # the first student layer is the first teacher layer, so their outputs agree too
        mask = torch.ones_like(ids)
        s = student.distilbert(ids, attention_mask=mask, output_hidden_states=True).hidden_states[1]
        t = teacher.bert(ids, attention_mask=mask, output_hidden_states=True).hidden_states[1]
        torch.testing.assert_close(s, t, rtol=1e-4, atol=1e-4)


def test_layer_map_must_fit_the_teacher():
    assert parse_layer_map(None, 6) == [0, 2, 4]
    assert parse_layer_map("1,3,5", 6) == [1, 3, 5]
    with pytest.raises(UsageError, match="does not fit a teacher with 6 layers"):
        parse_layer_map("0,7", 6)


def test_teacher_logits_are_computed_once_and_cached(tmp_path):
    from accelerate import Accelerator

    loaded = load_model(ModelSpec(model="bert-tiny"), LABELS, ["a good film", "a bad film"] * 10)
    rows = Dataset.from_dict({"input_ids": [loaded.tokenizer(t)["input_ids"] for t in ["a good film", "a bad film"]]})
    calls = []
    loaded.model.register_forward_hook(lambda *args: calls.append(1))
    accelerator = Accelerator(cpu=True)
    collate = DataCollatorWithPadding(loaded.tokenizer)
    first = teacher_logits(loaded.model, "t", rows, collate, accelerator, 8, tmp_path, "fp")
    forwards = len(calls)
    assert forwards > 0 and first.shape == (2, 2)
    again = teacher_logits(loaded.model, "t", rows, collate, accelerator, 8, tmp_path, "fp")
    assert len(calls) == forwards and np.array_equal(first, again)
    teacher_logits(loaded.model, "t", rows, collate, accelerator, 8, tmp_path, "other data")
    assert len(calls) > forwards


@pytest.fixture(scope="module")
def distilled(tmp_path_factory):
    """A tiny end-to-end distillation: bert-tiny teacher fine-tuned first, its 1-layer DistilBERT cut."""
    outputs = tmp_path_factory.mktemp("outputs")
    args = [*TINY, "--teacher", "bert-tiny", "--teacher_epochs", "1", "--output_dir", str(outputs)]
    args.remove("--model"), args.remove("bert-tiny")
    result = launch("distill", args)
    assert result.returncode == 0, result.stderr[-3000:]
    return outputs, args, result


def records(outputs):
    return {json.loads(p.read_text())["method"]: json.loads(p.read_text()) for p in outputs.glob("*/results.json")}


def test_end_to_end_distillation_records_the_comparison(distilled):
    from transformers import pipeline

    outputs, _, result = distilled
    found = records(outputs)
    assert set(found) == {"finetune", "hard-labels", "distill"}
    record = found["distill"]
    assert [row["model"] for row in record["comparison"]] == ["teacher", "student, distilled", "student, labels only"]
    assert record["retention"] == pytest.approx(record["metrics"]["accuracy"] / record["teacher_metrics"]["accuracy"])
    assert record["model"]["layer_map"] == [0] and record["model"]["family"] == "distilbert"
    assert found["hard-labels"]["parameters"] == record["parameters"]
    assert "retention" in result.stdout and "speed-up" in result.stdout
    classifier = pipeline("text-classification", model=f"{record['run_dir']}/model")
    assert classifier("the plot was superb .")[0]["label"] in LABELS


def test_second_run_reuses_the_teacher_and_its_cached_soft_targets(distilled):
    outputs, args, _ = distilled
    # student-only flags must not change which teacher is found
    result = launch("distill", [*args, "--no_ablation", "--vocab_size", "500", "--learning_rate", "2e-3"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "teacher: reusing" in result.stdout
    assert len([r for r in outputs.glob("*/results.json") if json.loads(r.read_text())["method"] == "finetune"]) == 1


def test_bilstm_student_from_a_saved_teacher_run(distilled, tmp_path):
    outputs, _, _ = distilled
    teacher_run = records(outputs)["finetune"]["run_dir"]
    result = launch("distill", ["--teacher", teacher_run, "--student", "bilstm", "--epochs", "2",
                                "--learning_rate", "2e-3", "--max_train_samples", "240", "--max_eval_samples", "80",
                                "--augment", "mask", "ngram", "--augment_copies", "1", "--no_ablation",
                                "--output_dir", str(tmp_path)])
    assert result.returncode == 0, result.stderr[-3000:]
    record = records(tmp_path)["distill"]
    assert record["model"]["family"] == "bilstm" and record["metrics"]["accuracy"] > 0
    assert record["validation"]["steps"] == 2 * 15  # 240 labelled + 240 augmented rows, batch 32


def test_bad_distillation_input(distilled, tmp_path, capsys):
    outputs, _, _ = distilled
    teacher_run = records(outputs)["finetune"]["run_dir"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "train.csv").write_text("text,label\n" + "".join(f"row {i},{i % 3}\n" for i in range(30)))
    cases = [
        (["--teacher", teacher_run, "--dataset", str(other)], "predicts labels"),
        (["--teacher", str(tmp_path / "outputs" / "nope")], "not found"),
        (["--teacher", teacher_run, "--layer_map", "0,5"], "does not fit a teacher with 2 layers"),
    ]
    for args, message in cases:
        out = tmp_path / "out"
        capsys.readouterr()
        status = run_recipe("distill", [*args, "--epochs", "1", "--max_train_samples", "60", "--output_dir", str(out)])
        err = capsys.readouterr().err
        assert status == 2 and message in err, err
        assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1
        assert not out.exists() or not any(out.iterdir())
        from accelerate.state import AcceleratorState

        AcceleratorState._reset_state(True)


def test_hidden_state_and_attention_losses_on_a_cut_student():
    from pipeline.distillation import hidden_state_losses, matched_layers

    assert matched_layers(3, 6) == [(0, 0), (1, 2), (2, 4), (3, 6)]
    teacher = load_model(ModelSpec(model="bert-tiny"), LABELS, ["a good film", "a bad film"] * 10)
    student = extract_student(teacher.model, [0])
    for model in (teacher.model, student):
        model.set_attn_implementation("eager")
    batch = teacher.tokenizer(["a good film", "a bad film indeed"], padding=True, return_tensors="pt")
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    out = student(**inputs, output_hidden_states=True, output_attentions=True)
    with torch.no_grad():
        target = teacher.model(**inputs, output_hidden_states=True, output_attentions=True)
    loss = hidden_state_losses(out, target, inputs["attention_mask"], None, 1.0, 1.0, 1.0)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert student.distilbert.transformer.layer[0].attention.q_lin.weight.grad is not None
    # the embeddings were copied, so the embedding pair alone contributes nothing
    zero = hidden_state_losses(out, target, inputs["attention_mask"], None, 1.0, 0.0, 0.0)
    assert zero < loss
