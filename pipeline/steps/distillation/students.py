"""Students: the small models a teacher is distilled into, one entry per kind in STUDENTS.

Each kind builds the student from the initialisation a user would otherwise start from (the BiLSTM's word
embeddings, and a layer cut's layers, from the teacher's *pretrained* checkpoint), so that "labels only" against
"distilled" compares training signals on the same model. A kind that can also start from the
fine-tuned teacher (`from_teacher`) adds that as a third, separately named row.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import torch
from accelerate.utils import set_seed
from transformers import AutoConfig, DistilBertConfig, DistilBertForSequenceClassification

from ...harness.errors import UsageError
from ...harness.heads import FAMILY, new_classifier, readout
from ...harness.hub import hub_reachable
from ...harness.models import (PRESETS, LoadedModel, ModelSpec, count_parameters, describe_model, load_model,
                               train_tokenizer)
from ...harness.tasks import task_type
from ..recurrent import RecurrentClassifier, RecurrentConfig, RecurrentTagger
from .pruning import prune_feed_forward, prune_vocabulary


@dataclass(frozen=True)
class StudentRecipe:
    """What a student is built from: the teacher's model, its pretrained source and the texts it will read."""

    teacher: LoadedModel
    pretrained: str | None  # the checkpoint the teacher was fine-tuned from, when known
    texts: list[str]  # every text the student trains on (labelled and transfer): its vocabulary
    head: dict  # the task's head (Task.head()): size, label names, problem_type
    model_spec: ModelSpec
    layer_map: str | None
    prune_vocabulary: bool = False  # a cut student keeps only the embedding rows of the tokens `texts` use
    ffn_dim: int | None = None  # a cut student's feed-forward width (None: the teacher's)
    pairs: bool = False  # the task's rows are sentence pairs


@dataclass(frozen=True)
class StudentKind:
    description: str
    build: Callable[[StudentRecipe], LoadedModel]
    from_teacher: Callable[[StudentRecipe], LoadedModel] | None = None
    transformer: bool = False  # has hidden states and attention for the intermediate losses


@torch.no_grad()
def word_vectors(words: list[str], source: LoadedModel, width: int, *, batch_size: int = 256) -> torch.Tensor:
    """Each word as a pretrained encoder reads it alone (the mean of its pieces' output states), reduced to `width`
    dimensions by PCA and scaled to unit spread: Model2Vec's static embeddings of a sentence encoder, as the start
    of a student's word embeddings, so that a word the labelled rows never show is still near its neighbours."""
    from sklearn.decomposition import PCA

    encoder = source.model.base_model.eval()
    states = []
    for start in range(0, len(words), batch_size):
        batch = source.tokenizer(words[start:start + batch_size], padding=True, truncation=True, max_length=16,
                                 return_tensors="pt", return_special_tokens_mask=True)
        special = batch.pop("special_tokens_mask")
        output = encoder(**batch).last_hidden_state
        real = (batch["attention_mask"] * (1 - special)).unsqueeze(-1).float()  # the word's pieces, not [CLS]/[SEP]
        states.append((output * real).sum(1) / real.sum(1).clamp(min=1))
    states = torch.cat(states).numpy()
    reduced = PCA(n_components=min(width, *states.shape), random_state=0).fit_transform(states)
    vectors = torch.zeros(len(words), width)
    vectors[:, :reduced.shape[1]] = torch.from_numpy(reduced / reduced.std()).float()
    return vectors


_WORD_VECTORS: dict[tuple, torch.Tensor] = {}  # the last vocabulary's vectors, (checkpoint, width, words) -> rows


def _pretrained_words(recipe: StudentRecipe, tokenizer, model) -> str | None:
    """The BiLSTM's word embeddings from the teacher's *pretrained* checkpoint (word_vectors), the start a user
    would otherwise have; None (random embeddings) where the checkpoint is unknown or trained here from scratch."""
    preset = PRESETS.get(recipe.pretrained) if recipe.pretrained else None
    if recipe.pretrained is None or (preset is not None and preset.path is None):
        return None
    specials = set(tokenizer.all_special_tokens)
    vocabulary = [(word, i) for word, i in tokenizer.get_vocab().items() if word not in specials]
    words, width = tuple(word for word, _ in vocabulary), model.config.embedding_dim
    key = (recipe.pretrained, width, words)
    if key not in _WORD_VECTORS:  # both rows of the comparison build the same student: read the words once
        source = load_model(replace(recipe.model_spec, model=recipe.pretrained, pooling=None), recipe.head)
        _WORD_VECTORS.clear()
        _WORD_VECTORS[key] = word_vectors(list(words), source, width)
    vectors = _WORD_VECTORS[key]
    with torch.no_grad():
        model.embedding.weight[[i for _, i in vocabulary]] = vectors
    return f"{recipe.pretrained}'s reading of each word (Model2Vec-style, PCA to {model.config.embedding_dim})"


def _bilstm(recipe: StudentRecipe) -> LoadedModel:
    tokenizer = train_tokenizer("wordlevel", recipe.texts, recipe.model_spec.vocab_size, "bilstm")
    # Sentence pairs: the token types say where the second sentence starts, so each is read alone and compared.
    names = ["input_ids", "attention_mask", *(["token_type_ids"] if recipe.pairs else [])]
    tokenizer.model_input_names = tokenizer.init_kwargs["model_input_names"] = names  # saved with the tokenizer
    network = RecurrentTagger if task_type(recipe.head.get("task_type")).reads_words else RecurrentClassifier
    model = network(RecurrentConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                                    pair_features=recipe.pairs, **recipe.head))
    embeddings = _pretrained_words(recipe, tokenizer, model)
    return LoadedModel(model, tokenizer, describe_model(model, name="bilstm", family="bilstm", kind="bilstm",
                                                        vocab_size=len(tokenizer), embeddings=embeddings or "random"))


def parse_layer_map(text: str | None, teacher_layers: int) -> list[int]:
    """Teacher layers copied into a cut student; default every other layer (DistilBERT's choice)."""
    try:
        layers = list(range(0, teacher_layers, 2)) if text is None else [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        layers = []
    if not layers or any(not 0 <= layer < teacher_layers for layer in layers):
        raise UsageError(f"--layer_map {text!r} does not fit a teacher with {teacher_layers} layers; "
                         f"give indices from 0 to {teacher_layers - 1}, e.g. '0,2,4'")
    return layers


def check_cut(config) -> None:
    """A DistilBERT, which reads [CLS] through its pre-classifier, is cut from a BERT that reads [CLS] too."""
    if config.model_type != "bert":
        raise UsageError(f"--student distil cuts a DistilBERT out of a BERT teacher, and the teacher is "
                         f"'{config.model_type}'; give --student bilstm, a preset or a directory")
    if readout(config) != FAMILY:
        raise UsageError(f"--student distil cuts a DistilBERT, which reads [CLS], out of a BERT that reads it too, and "
                         f"this teacher reads the {readout(config)} of its tokens; give --student bilstm, "
                         f"a preset or a directory (with --pooling {readout(config)})")


def extract_student(teacher, layer_map: list[int]) -> DistilBertForSequenceClassification:
    """A DistilBERT initialised from a BERT: embeddings copied, then layer layer_map[i] -> student layer i."""
    config = teacher.config
    check_cut(config)
    student = DistilBertForSequenceClassification(DistilBertConfig(
        vocab_size=config.vocab_size, max_position_embeddings=config.max_position_embeddings, dim=config.hidden_size,
        n_layers=len(layer_map), n_heads=config.num_attention_heads, hidden_dim=config.intermediate_size,
        activation=config.hidden_act, dropout=config.hidden_dropout_prob,
        attention_dropout=config.attention_probs_dropout_prob, seq_classif_dropout=config.hidden_dropout_prob,
        pad_token_id=config.pad_token_id, num_labels=config.num_labels, id2label=config.id2label,
        label2id=config.label2id, problem_type=config.problem_type))
    bert, distil = teacher.bert, student.distilbert
    with torch.no_grad():
        distil.embeddings.word_embeddings.weight.copy_(bert.embeddings.word_embeddings.weight)
        # DistilBERT has no token types: fold type 0 (every single-sentence token's) into the positions.
        distil.embeddings.position_embeddings.weight.copy_(
            bert.embeddings.position_embeddings.weight + bert.embeddings.token_type_embeddings.weight[0])
        distil.embeddings.LayerNorm.load_state_dict(bert.embeddings.LayerNorm.state_dict())
        for target, source in zip(distil.transformer.layer, (bert.encoder.layer[i] for i in layer_map)):
            target.attention.q_lin.load_state_dict(source.attention.self.query.state_dict())
            target.attention.k_lin.load_state_dict(source.attention.self.key.state_dict())
            target.attention.v_lin.load_state_dict(source.attention.self.value.state_dict())
            target.attention.out_lin.load_state_dict(source.attention.output.dense.state_dict())
            target.sa_layer_norm.load_state_dict(source.attention.output.LayerNorm.state_dict())
            target.ffn.lin1.load_state_dict(source.intermediate.dense.state_dict())
            target.ffn.lin2.load_state_dict(source.output.dense.state_dict())
            target.output_layer_norm.load_state_dict(source.output.LayerNorm.state_dict())
        if teacher.bert.pooler is not None:
            student.pre_classifier.load_state_dict(teacher.bert.pooler.dense.state_dict())
        student.classifier.load_state_dict(teacher.classifier.state_dict())
    return student


def _cut(source: LoadedModel, recipe: StudentRecipe, init: str) -> LoadedModel:
    layers = parse_layer_map(recipe.layer_map, source.model.config.num_hidden_layers)
    tokenizer = copy.deepcopy(source.tokenizer)
    tokenizer.model_input_names = ["input_ids", "attention_mask"]  # DistilBERT has no token types
    student = extract_student(source.model, layers)
    info = {"kind": "distil", "family": "distilbert", "layer_map": layers, "init": init}
    if recipe.ffn_dim is not None:
        prune_feed_forward(student, tokenizer, recipe.texts, width=recipe.ffn_dim,
                           max_length=recipe.model_spec.max_length)
        info["feed_forward"] = {"kept": recipe.ffn_dim, "of": source.model.config.intermediate_size}
    if recipe.prune_vocabulary:
        tokenizer, _ = prune_vocabulary(student, tokenizer, recipe.texts)
        tokenizer.model_input_names = ["input_ids", "attention_mask"]
        info["vocabulary"] = {"kept": len(tokenizer), "of": source.model.config.vocab_size}
    return LoadedModel(student, tokenizer, {**info, "parameters": count_parameters(student)})


def _cut_pretrained(recipe: StudentRecipe) -> LoadedModel:
    if recipe.pretrained is None:
        raise UsageError("--student distil starts from the layers of the teacher's pretrained checkpoint, and "
                         "this teacher does not say which it was (no run record); give a run folder as --teacher")
    preset = PRESETS.get(recipe.pretrained)
    if preset is not None and preset.path is None:  # a from-scratch preset: its "checkpoint" is a fresh init
        model = new_classifier(recipe.teacher.model.config)
        return _cut(LoadedModel(model, recipe.teacher.tokenizer, {}), recipe, f"random {recipe.pretrained}")
    source = load_model(replace(recipe.model_spec, model=recipe.pretrained, pooling=FAMILY), recipe.head)
    return _cut(source, recipe, f"pretrained {recipe.pretrained}")


def _cut_teacher(recipe: StudentRecipe) -> LoadedModel:
    return _cut(recipe.teacher, recipe, "fine-tuned teacher")


STUDENTS: dict[str, StudentKind] = {
    "bilstm": StudentKind("BiLSTM of Tang et al. 2019: 300-d word embeddings (each word as the teacher's pretrained "
                          "checkpoint reads it), 300 units each way; on sentence pairs each sentence read alone and "
                          "compared ([u, v, |u-v|, u*v])",
                          _bilstm),
    "distil": StudentKind("DistilBERT with every other teacher layer (--layer_map), cut from the teacher's "
                          "pretrained checkpoint, its vocabulary pruned to the task's text (--prune_vocabulary), "
                          "its feed-forward blocks optionally narrowed (--ffn_dim)",
                          _cut_pretrained, from_teacher=_cut_teacher, transformer=True),
}


def student_kind(name: str) -> StudentKind:
    """A registered kind, or a preset / directory / hub id loaded as a sequence classifier."""
    if name in STUDENTS:
        return STUDENTS[name]

    def build(recipe: StudentRecipe) -> LoadedModel:
        loaded = load_model(replace(recipe.model_spec, model=name), recipe.head, recipe.texts)
        loaded.info["init"] = "preset" if name in PRESETS else name
        return loaded

    return StudentKind(f"the model '{name}'", build, transformer=True)


def check_student(name: str, teacher_config, *, layer_map: str | None = None, ffn_dim: int | None = None) -> None:
    """Fail before anything trains on a student that cannot be built from this teacher."""
    if name == "distil":
        check_cut(teacher_config)
        parse_layer_map(layer_map, teacher_config.num_hidden_layers)
        if ffn_dim is not None and ffn_dim > teacher_config.intermediate_size:
            raise UsageError(f"--ffn_dim {ffn_dim} is wider than the teacher's feed-forward blocks "
                             f"({teacher_config.intermediate_size}); pruning keeps at most that many")
    elif name not in STUDENTS and name not in PRESETS:
        local = Path(name).exists() or name.startswith((".", "/", "~")) or name.count("/") > 1
        try:
            if not local and not hub_reachable():
                raise OSError
            AutoConfig.from_pretrained(name, local_files_only=local)
        except (OSError, ValueError):
            raise UsageError(f"unknown student '{name}': choose {', '.join(STUDENTS)}, a preset "
                             f"({', '.join(PRESETS)}), a save_pretrained directory, or a hub id with a "
                             "network") from None


def build_student(kind: StudentKind, recipe: StudentRecipe, *, seed: int, from_teacher: bool = False) -> LoadedModel:
    """The student, built afresh from `seed`, so every row of the comparison starts from the same weights."""
    set_seed(seed)
    return (kind.from_teacher if from_teacher else kind.build)(recipe)
