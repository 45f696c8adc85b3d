import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from datasets import Dataset

from conftest import ROOT, assert_served_by_transformers, launch, run_recipe, start
from safetensors.torch import load_file
from pipeline.harness.tasks import TASK_TYPES, head_for
from pipeline.steps.distillation.losses import HiddenStateLoss, RelationLoss, SoftTargetLoss, matched_layers
from pipeline.steps.distillation.students import check_student, extract_student, parse_layer_map
from pipeline.steps.distillation.teachers import Teacher, soft_targets
from pipeline.harness.errors import UsageError
from pipeline.harness.models import ModelSpec, count_parameters, load_model

SINGLE = TASK_TYPES["single_label"]
LABELS = head_for(["negative", "positive"], SINGLE)


def kd(student, teacher, temperature, labels=None, weight=None, alpha_kd=1.0, alpha_hard=0.0):
    labels = torch.zeros(len(student), dtype=torch.long) if labels is None else labels
    weight = torch.ones(len(student)) if weight is None else weight
    loss = SoftTargetLoss(SINGLE, temperature=temperature, alpha_kd=alpha_kd, alpha_hard=alpha_hard)
    return loss(student, teacher, labels, weight)


def test_temperature_anneals_with_the_progress_the_loop_gives():
    loss = SoftTargetLoss(SINGLE, temperature=4.0, temperature_end=1.0, alpha_kd=1.0, alpha_hard=0.0)
    assert [loss.temperature_at(p) for p in (0.0, 0.5, 1.0, 2.0)] == [4.0, 2.5, 1.0, 1.0]
    student, teacher = torch.randn(3, 2), torch.randn(3, 1, 2)
    labels, weight = torch.zeros(3, dtype=torch.long), torch.ones(3)
    torch.testing.assert_close(loss(student, teacher, labels, weight, progress=1.0), kd(student, teacher, 1.0))


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


def test_a_distil_cut_needs_a_teacher_that_reads_cls_as_distilbert_does(minilm):
    config = copy.deepcopy(minilm.model.config)
    config.classifier_pooling = "mean"
    with pytest.raises(UsageError, match="reads the mean of its tokens"):
        check_student("distil", config)
    check_student("distil", minilm.model.config)  # MiniLM's own head reads [CLS]: fine


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


def test_a_pruned_student_keeps_the_rows_its_text_uses_and_reads_that_text_as_before(minilm, tmp_path):
    """Vocabulary pruning: the task's text tokenizes to the same tokens (renumbered), the student gives the same
    logits, an unseen word spells out from single characters, and a teacher reading the student's batches for the
    hidden-state and relation losses gets its own ids back."""
    from transformers import AutoTokenizer

    from pipeline.steps.distillation.objective import DistillationObjective, teacher_ids
    from pipeline.steps.distillation.pruning import prune_vocabulary

    texts = ["the plot was not dull , but the acting was superb .", "a lifeless , tedious film", "superb !"]
    whole = extract_student(minilm.model, [0, 2, 4]).eval()
    pruned = copy.deepcopy(whole)
    tokenizer, index = prune_vocabulary(pruned, minilm.tokenizer, texts)
    # The texts' few dozen tokens, the specials, and some 2,000 single characters (with and without '##').
    assert len(tokenizer) < 2_100 and pruned.get_input_embeddings().weight.shape[0] == len(tokenizer)
    assert count_parameters(pruned) < count_parameters(whole) - 10_000_000
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    for text in texts:
        ids = reloaded(text)["input_ids"]
        assert index[ids].tolist() == minilm.tokenizer(text)["input_ids"]
    with torch.no_grad():
        before = whole(**minilm.tokenizer(texts, padding=True, return_tensors="pt")).logits
        after = pruned(**tokenizer(texts, padding=True, return_tensors="pt")).logits
    torch.testing.assert_close(after, before, rtol=0, atol=1e-5)
    assert tokenizer.unk_token not in tokenizer.tokenize("zyzzyva")  # spelt out, not lost
    assert torch.equal(teacher_ids(tokenizer, minilm.tokenizer), index)
    # The deep losses compare the same tokens on both sides: pruning changes no loss.
    losses = []
    for student, reads in ((whole, minilm.tokenizer), (pruned, tokenizer)):
        batch = reads(texts[:2], padding=True, return_tensors="pt")
        batch = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"],
                 "labels": torch.tensor([1, 0]), "hard_weight": torch.ones(2), "teacher_logits": torch.zeros(2, 1, 2)}
        objective = DistillationObjective(
            SoftTargetLoss(SINGLE), teacher=minilm.model.eval(), teacher_ids=teacher_ids(reads, minilm.tokenizer),
            intermediate=(("hidden_states", HiddenStateLoss(student_width=384, teacher_width=384, alpha_mse=1.0)),))
        with torch.no_grad():
            losses.append(objective(student.eval(), batch, 0.0))
    torch.testing.assert_close(losses[1], losses[0], rtol=0, atol=1e-5)


def test_a_narrowed_student_keeps_the_neurons_that_matter_and_loads_as_a_plain_distilbert(minilm, tmp_path):
    """Feed-forward pruning keeps `width` neurons a layer, chosen so the student's output moves less than keeping
    the least important ones would; the narrowed model saves and loads back with transformers as it was."""
    from transformers import AutoModelForSequenceClassification

    from pipeline.steps.distillation import pruning

    texts = ["the plot was not dull , but the acting was superb .", "a lifeless , tedious film", "superb !",
             "the service was slow and the food was cold .", "i would happily watch it again"] * 4
    whole = extract_student(minilm.model, [0, 3]).eval()
    batch = minilm.tokenizer(texts[:5], padding=True, return_tensors="pt")
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}

    def moved(model) -> float:
        with torch.no_grad():
            before = whole.distilbert(**inputs).last_hidden_state[:, 0]
            return (model.distilbert(**inputs).last_hidden_state[:, 0] - before).norm().item()

    narrowed = copy.deepcopy(whole)
    pruning.prune_feed_forward(narrowed, minilm.tokenizer, texts, width=384, max_length=128)
    assert all(layer.ffn.lin1.out_features == layer.ffn.lin2.in_features == 384
               for layer in narrowed.distilbert.transformer.layer)
    assert narrowed.config.hidden_dim == 384
    assert count_parameters(whole) - count_parameters(narrowed) == 2 * (2 * 384 + 1) * (1536 - 384)  # per layer
    # The same cut keeping the lowest-scored neurons instead: the kept ones are the ones the text relies on.
    worst = copy.deepcopy(whole)
    pruning.narrow_feed_forward(worst, [(-score).topk(384).indices
                                        for score in pruning.neuron_importance(worst, minilm.tokenizer, texts, max_length=128)])
    assert moved(narrowed) < 0.5 * moved(worst)
    unchanged = copy.deepcopy(whole)
    pruning.prune_feed_forward(unchanged, minilm.tokenizer, texts, width=1536, max_length=128)  # every neuron kept: same model
    assert moved(unchanged) < 1e-4
    narrowed.save_pretrained(tmp_path)
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**inputs).logits, narrowed(**inputs).logits)


def test_layer_map_must_fit_the_teacher():
    assert parse_layer_map(None, 6) == [0, 2, 4]
    assert parse_layer_map("1,3,5", 6) == [1, 3, 5]
    with pytest.raises(UsageError, match="does not fit a teacher with 6 layers"):
        parse_layer_map("0,7", 6)


def test_soft_targets_are_computed_once_cached_and_in_row_order(tmp_path):
    from accelerate import Accelerator

    loaded = load_model(ModelSpec(model="bert-tiny"), LABELS, ["a good film", "a bad film"] * 10)
    texts = ["a good film indeed , a good film", "a bad film", "good"]
    rows = Dataset.from_dict({"text": texts, "label": [0, 0, 0]})
    calls = []
    loaded.model.register_forward_hook(lambda *args: calls.append(1))
    accelerator = Accelerator(cpu=True)
    first = soft_targets(Teacher(loaded, "t", None, None), rows, kind=TASK_TYPES["single_label"], max_length=32, batch_size=2, accelerator=accelerator,
                         cache_dir=tmp_path)
    forwards = len(calls)
    assert forwards > 0 and first.shape == (3, 2)
    with torch.no_grad():  # rows are batched by length, the logits come back in row order
        alone = loaded.model(**loaded.tokenizer(texts[:1], return_tensors="pt")).logits[0].numpy()
    np.testing.assert_allclose(first[0], alone, rtol=1e-5, atol=1e-5)
    forwards = len(calls)
    again = soft_targets(Teacher(loaded, "t", None, None), rows, kind=TASK_TYPES["single_label"], max_length=32, batch_size=2,
                         accelerator=accelerator, cache_dir=tmp_path)
    assert len(calls) == forwards and np.array_equal(first, again)
    soft_targets(Teacher(loaded, "another teacher", None, None), rows, kind=TASK_TYPES["single_label"], max_length=32, batch_size=2,
                 accelerator=accelerator, cache_dir=tmp_path)
    assert len(calls) > forwards


# A tiny distillation: bert-tiny teacher fine-tuned first (one epoch: too little to beat the majority class, so the
# guard is told to go on), a BiLSTM student for exactly --epochs (no step floor), a small generated transfer set.
TINY_DISTILL = ["--teacher", "bert-tiny", "--teacher_epochs", "1", "--no_teacher_guard", "--student_steps", "0",
                "--max_train_samples", "240",
                "--max_eval_samples", "80", "--generated", "160", "--no_left_out", "--epochs", "1", "--batch_size", "16"]


@pytest.fixture(scope="module")
def distilled(tmp_path_factory):
    outputs = tmp_path_factory.mktemp("outputs")
    args = [*TINY_DISTILL, "--output_dir", str(outputs)]
    result = launch("distill", args)
    assert result.returncode == 0, result.stderr[-3000:]
    return outputs, args, result, records(outputs)  # the runs it made: later tests add runs beside them


def records(outputs):
    return {json.loads(p.read_text())["method"]: json.loads(p.read_text()) for p in outputs.glob("*/results.json")}


def test_end_to_end_distillation_records_the_honest_comparison(distilled):
    _, _, result, found = distilled
    assert set(found) == {"finetune", "hard-labels", "distill"}
    record = found["distill"]
    assert [row["model"] for row in record["comparison"]] == [
        "teacher", "student, labels only", "student, distilled", "student, distilled, onnx",
        "student, distilled, onnx-int8"]
    teacher, labels_only, student = record["comparison"][:3]
    assert student["retention"] == pytest.approx(student["score"] / teacher["score"])
    assert 0 <= student["versus_baseline"]["p_value"] <= 1 and "versus_baseline" not in labels_only
    assert student["versus_baseline"]["difference"] == pytest.approx(student["score"] - labels_only["score"])
    assert student["metric"] == "accuracy" and student["versus_baseline"]["test"] == "exact McNemar"
    assert student["samples_per_second_batch1"] > 0 and student["speedup"] > 0
    # Same architecture and initialisation; the labels-only student gets as many optimizer steps.
    assert found["hard-labels"]["parameters"] == record["parameters"] and record["model"]["family"] == "bilstm"
    assert found["hard-labels"]["validation"]["steps"] >= record["validation"]["steps"]
    assert record["transfer"] == {"built-in generator": 160}
    assert record["validation"]["steps"] == -(-(240 + 160) // 16)
    exports = record["exports"]
    assert exports["onnx-int8"]["size_mb"] < exports["onnx"]["size_mb"]
    assert abs(exports["onnx"]["change"]) < 0.02
    assert "McNemar" in result.stdout and "=== stage: student, distilled" in result.stdout
    # Export and comparison are stages of their own, after the students; the trade-off is drawn and named.
    stages = [line for line in result.stdout.splitlines() if line.startswith("=== stage:")]
    assert stages[-2:] == ["=== stage: export (ONNX, int8 ONNX)", "=== stage: comparison (teacher, students and "
                           "exports on the test split, timed side by side)"]
    assert (Path(record["run_dir"]) / "students.png").stat().st_size > 10_000
    assert record["fastest_near_teacher"] in result.stdout


def test_the_fastest_model_near_the_teacher_and_the_pareto_front():
    from pipeline.steps.distillation.compare import fastest_near_teacher, pareto_front

    def row(model, score, per_second, size):
        return {"model": model, "metric": "accuracy", "score": score, "samples_per_second_batch1": per_second,
                "speedup_batch1": per_second / 50, "size_mb": size}

    table = [row("teacher", 0.915, 50, 91.0), row("student", 0.905, 400, 7.6), row("int8", 0.90, 900, 1.9),
             row("twin", 0.75, 410, 7.6)]
    assert fastest_near_teacher(table).startswith("fastest within one point of the teacher (accuracy 0.9150): "
                                                  "student, 0.9050, 2.50 ms per sentence at batch 1 (8.0x")
    assert [r["model"] for r in pareto_front(table)] == ["int8", "student", "teacher"]
    assert fastest_near_teacher(table[:1] + table[2:]).startswith(
        "no student is within one point of the teacher (accuracy 0.9150); the closest: int8, 0.9000")


def test_exported_student_predicts_through_predict_py(distilled):
    run = distilled[3]["distill"]["run_dir"]
    for export in ("onnx", "onnx-int8"):
        result = subprocess.run([sys.executable, str(ROOT / "recipes" / "predict.py"), run, "--export", export,
                                 "the plot was superb ."], capture_output=True, text=True, cwd=ROOT)
        assert result.returncode == 0, result.stderr[-2000:]
        label, probability, text = result.stdout.strip().split("\t")
        assert label in LABELS["id2label"].values() and 0.5 <= float(probability) <= 1 and text == "the plot was superb ."


def test_the_distilled_student_loads_in_transformers_pipeline_as_predict_py_reads_it(distilled, capsys):
    record = distilled[3]["distill"]
    assert_served_by_transformers(record["run_dir"], ["the plot was superb .", "a dull , lifeless film ."], capsys)
    card = (Path(record["run_dir"]) / "model" / "README.md").read_text()
    title = next(line for line in card.splitlines() if line.startswith("# "))
    assert record["run_id"] in title and "bilstm" in title
    assert "import onnxruntime" in card and record["exports"]["onnx-int8"]["path"] in card


def test_second_run_reuses_the_teacher_and_its_cached_soft_targets(distilled):
    outputs, args, _, _ = distilled
    # student-only flags must not change which teacher is found
    result = launch("distill", [*args, "--no_ablation", "--vocab_size", "500", "--learning_rate", "2e-3"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "reusing the finished run" in result.stdout and "from the cache" in result.stdout
    assert len([r for r in outputs.glob("*/results.json") if json.loads(r.read_text())["method"] == "finetune"]) == 1


def test_cut_student_from_a_saved_teacher_run_has_the_third_row(distilled, tmp_path, capsys):
    teacher_run = distilled[3]["finetune"]["run_dir"]
    result = launch("distill", ["--teacher", teacher_run, "--no_teacher_guard", "--student_steps", "0",
                                "--student", "distil", "--epochs", "1",
                                "--learning_rate", "1e-3", "--max_train_samples", "240", "--max_eval_samples", "80",
                                "--generated", "0", "--no_left_out", "--augment", "mask", "ngram", "--augment_copies", "1",
                                "--ffn_dim", "64", "--no_export", "--output_dir", str(tmp_path)])
    assert result.returncode == 0, result.stderr[-3000:]
    found = records(tmp_path)
    assert set(found) == {"hard-labels", "distill-teacher-init", "distill"}
    record = found["distill"]
    assert record["model"]["family"] == "distilbert" and record["model"]["layer_map"] == [0]
    assert record["model"]["vocabulary"]["kept"] < record["model"]["vocabulary"]["of"]
    assert record["model"]["feed_forward"] == found["distill-teacher-init"]["model"]["feed_forward"] == {
        "kept": 64, "of": 512}
    assert_served_by_transformers(record["run_dir"], ["a fine film", "dull and slow"], capsys)  # a plain DistilBERT
    assert record["model"]["init"] == "random bert-tiny"
    assert found["distill-teacher-init"]["model"]["init"] == "fine-tuned teacher"
    assert [row["model"] for row in record["comparison"]] == [
        "teacher", "student, labels only", "student from the fine-tuned teacher, distilled", "student, distilled"]
    # one augmented copy per labelled row, less those that came out equal to a text the data already has
    assert list(record["transfer"]) == ["augmentation"] and 100 < record["transfer"]["augmentation"] <= 240


BAD = [
    (["--layer_map", "0,5", "--student", "distil"], "does not fit a teacher with 2 layers"),
    (["--layer_map", "0,7"], "--layer_map applies to --student distil (the teacher layers it copies) only"),
    # (test_bad_input launches the one case whose message has "applies to --student")
    (["--ffn_dim", "64"], "distil (the feed-forward width it keeps) only"),
    (["--student", "distil", "--ffn_dim", "4096"], "--ffn_dim 4096 is wider than the teacher's feed-forward blocks"),
    (["--student", "distil", "--ffn_dim", "0"], "--ffn_dim must be at least 1"),
    (["--unlabeled_file", "{empty}"], "holds no text (3 bytes"),
    (["--student", "lstm-huge"], "unknown student 'lstm-huge'"),
    (["--augment", "shuffle", "--augment_copies", "1"], "unknown augmentation ['shuffle']"),
    (["--temperature", "0"], "--temperature must be positive"),
    (["--alpha_kd", "0", "--alpha_hard", "0"], "nothing to learn from"),
    (["--unlabeled_file", "no/such/file.txt"], "does not exist"),
    (["--alpha_cos", "1"], "need a transformer student"),
    (["--student", "distil", "--alpha_relation", "1", "--relation_heads", "5"], "does not divide"),
    (["--teacher_epochs", "0"], "--teacher_epochs must be at least 1"),
    (["--student", "distil", "--pooling", "mean"], "does not apply to --student distil"),
    (["--teacher", "{teacher_run}", "--teacher_epochs", "2"], "--teacher_epochs applies to a --teacher fine-tuned first"),
    (["--resume"], "--resume: nothing to resume: no run of this distillation (finetune-bert-tiny-builtin-"),
]


def bad_input_files(tmp_path) -> dict[str, str]:
    """The files BAD's cases name: an unlabelled file of blank lines, a folder that looks like a finished run."""
    (tmp_path / "empty.txt").write_text(" \n\n")
    return {"empty": str(tmp_path / "empty.txt"), "teacher_run": str(tmp_path / "some-run")}


@pytest.mark.parametrize("args, message", BAD, ids=[m for _, m in BAD])
def test_bad_options_fail_before_the_teacher_trains(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    args = [a.format(**bad_input_files(tmp_path)) for a in args]
    teacher = [] if "--teacher" in args else ["--teacher", "bert-tiny"]
    status = run_recipe("distill", [*teacher, *args, "--output_dir", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and message in err, err
    assert [line for line in err.splitlines() if line.strip()] == [line for line in err.splitlines()
                                                                   if line.startswith("error:")]
    assert not out.exists()


def test_bad_teacher_input(distilled, tmp_path, capsys):
    teacher_run = distilled[3]["finetune"]["run_dir"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "train.csv").write_text("text,label\n" + "".join(f"row {i},{i % 3}\n" for i in range(30)))
    cases = [
        (["--teacher", teacher_run, "--dataset", str(other)], "but the data's task is ['0', '1', '2']"),
        (["--teacher", str(tmp_path / "outputs" / "nope")], "not found"),
    ]
    for args, message in cases:
        out = tmp_path / "out"
        capsys.readouterr()
        status = run_recipe("distill", [*args, "--epochs", "1", "--max_train_samples", "60", "--output_dir", str(out)])
        err = capsys.readouterr().err
        assert status == 2 and message in err, err
        assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1
        assert not out.exists()
        from accelerate.state import AcceleratorState

        AcceleratorState._reset_state(True)


def test_killed_student_stage_resumes_to_the_same_result(tmp_path):
    """kill -9 in the middle of the distilled student's stage, then the same command with --resume."""
    args = [*TINY_DISTILL, "--epochs", "3", "--checkpoint_every", "4", "--dropout", "0.1", "--no_export"]
    straight = tmp_path / "straight"
    assert run_recipe("distill", [*args, "--output_dir", str(straight)]) == 0  # in this process; the others launched
    crashed = tmp_path / "crashed"
    process = start("distill", [*args, "--output_dir", str(crashed)])
    while process.poll() is None:  # until the distilled stage has a checkpoint past its first epoch
        found = [p for p in crashed.glob("distill-bilstm-distill-*/checkpoints/step-*/trainer_state.json")
                 if json.loads(p.read_text())["epoch"] >= 1]
        if found:
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.2)
    process.wait()
    assert found, "the run finished before it could be killed"
    assert not [p for p in crashed.glob("distill-bilstm-distill-*/results.json")]
    resumed = launch("distill", [*args, "--output_dir", str(crashed), "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stdout and "reusing the finished run" in resumed.stdout
    a, b = records(straight), records(crashed)
    for method in ("finetune", "hard-labels", "distill"):
        assert a[method]["metrics"]["accuracy"] == b[method]["metrics"]["accuracy"]
        assert a[method]["validation"]["history"] == b[method]["validation"]["history"]
    wa, wb = (load_file(Path(r["distill"]["run_dir"]) / "model" / "model.safetensors") for r in (a, b))
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=0, atol=1e-6)


def test_hidden_state_loss_projects_across_widths_and_relations_ignore_head_counts():
    assert matched_layers(3, 6) == [(0, 0), (1, 2), (2, 4), (3, 6)]
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    student = tuple(torch.randn(2, 4, 8, requires_grad=True) for _ in range(2))
    teacher = tuple(torch.randn(2, 4, 12) for _ in range(3))
    loss = HiddenStateLoss(student_width=8, teacher_width=12, alpha_cos=1.0, alpha_mse=1.0)
    value = loss(student, teacher, mask)
    value.backward()
    assert torch.isfinite(value) and loss.projection.weight.grad is not None
    # Relations: 4 relation heads over widths 8 and 12; equal states give zero, padding is ignored.
    relation = RelationLoss(relation_heads=4)
    qkv = tuple(torch.randn(2, 4, 12) for _ in range(3))
    assert relation(qkv, qkv, mask) == pytest.approx(0.0, abs=1e-6)
    other = relation(tuple(torch.randn(2, 4, 8) for _ in range(3)), qkv, mask)
    assert other > 0
    changed = tuple(q.clone() for q in qkv)
    for q in changed:
        q[0, 3] = 100.0  # a padded position of the first row
    assert relation(qkv, changed, mask) == pytest.approx(0.0, abs=1e-6)


def test_objective_trains_a_cut_student_on_relations_and_hidden_states():
    from pipeline.steps.distillation.objective import DistillationObjective

    teacher = load_model(ModelSpec(model="bert-tiny"), LABELS, ["a good film", "a bad film"] * 10)
    student = extract_student(teacher.model, [0])
    batch = teacher.tokenizer(["a good film", "a bad film indeed"], padding=True, return_tensors="pt")
    batch = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"],
             "labels": torch.tensor([1, 0]), "hard_weight": torch.ones(2),
             "teacher_logits": torch.randn(2, 1, 2)}
    objective = DistillationObjective(SoftTargetLoss(SINGLE), teacher=teacher.model.eval(), intermediate=(
        ("hidden_states", HiddenStateLoss(student_width=128, teacher_width=128, alpha_cos=1.0)),
        ("qkv", RelationLoss(relation_heads=2))))
    loss = objective(student, batch, 0.0)
    loss.backward()
    assert torch.isfinite(loss) and student.distilbert.transformer.layer[0].attention.q_lin.weight.grad is not None
    assert objective.modules == ()  # equal widths: no projection to train


def test_distillation_runs_on_two_processes(tmp_path):
    """Every stage on 2 CPU processes (gloo); the comparison runs on the main process alone."""
    result = launch("distill", [*TINY_DISTILL, "--temperature_end", "1", "--output_dir", str(tmp_path)], processes=2)
    assert result.returncode == 0, result.stderr[-3000:]
    found = records(tmp_path)
    assert set(found) == {"finetune", "hard-labels", "distill"}
    assert found["distill"]["device"]["processes"] == 2 and len(found["distill"]["comparison"]) == 5
