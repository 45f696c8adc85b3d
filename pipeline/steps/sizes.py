"""Parameter counts of real model definitions, built on the meta device (no weights are allocated).

Configs come from the hub when it answers, otherwise from the published hyperparameters below.
"""

from __future__ import annotations

from typing import Callable

import torch
import transformers
from accelerate import init_empty_weights
from transformers import AutoConfig, AutoModel, PretrainedConfig

from ..harness.hub import hub_reachable
from ..harness.records import RunRecord
from ..harness.runs import model_dir
from .pretraining.bilm import BILM_PRESETS, BiLMConfig

# name -> (hub id, the same architecture from its paper's hyperparameters)
PUBLISHED: dict[str, tuple[str | None, Callable[[], PretrainedConfig]]] = {
    "GPT": ("openai-community/openai-gpt", lambda: transformers.OpenAIGPTConfig(
        vocab_size=40478, n_positions=512, n_embd=768, n_layer=12, n_head=12)),
    "BERT-base": ("google-bert/bert-base-uncased", lambda: transformers.BertConfig(
        vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)),
    "BERT-large": ("google-bert/bert-large-uncased", lambda: transformers.BertConfig(
        vocab_size=30522, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)),
    "DistilBERT": ("distilbert/distilbert-base-uncased", lambda: transformers.DistilBertConfig(
        vocab_size=30522, dim=768, n_layers=6, n_heads=12, hidden_dim=3072)),
    "GPT-2": ("openai-community/gpt2", lambda: transformers.GPT2Config(n_embd=768, n_layer=12, n_head=12)),
    "GPT-2 medium": ("openai-community/gpt2-medium", lambda: transformers.GPT2Config(
        n_embd=1024, n_layer=24, n_head=16)),
    "GPT-2 large": ("openai-community/gpt2-large", lambda: transformers.GPT2Config(
        n_embd=1280, n_layer=36, n_head=20)),
    "GPT-2 XL": ("openai-community/gpt2-xl", lambda: transformers.GPT2Config(n_embd=1600, n_layer=48, n_head=25)),
    "XLNet-base": ("xlnet/xlnet-base-cased", lambda: transformers.XLNetConfig(
        vocab_size=32000, d_model=768, n_layer=12, n_head=12, d_inner=3072)),
    "XLNet-large": ("xlnet/xlnet-large-cased", lambda: transformers.XLNetConfig(
        vocab_size=32000, d_model=1024, n_layer=24, n_head=16, d_inner=4096)),
    "RoBERTa-base": ("FacebookAI/roberta-base", lambda: transformers.RobertaConfig(
        vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, hidden_size=768, num_hidden_layers=12,
        num_attention_heads=12, intermediate_size=3072)),
    "RoBERTa-large": ("FacebookAI/roberta-large", lambda: transformers.RobertaConfig(
        vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, hidden_size=1024, num_hidden_layers=24,
        num_attention_heads=16, intermediate_size=4096)),
    # Peters et al. 2018, the project's own biLM class at allennlp's published option sizes (softmax excluded).
    **{f"ELMo {size}": (None, lambda size=size: BiLMConfig(**BILM_PRESETS[f"elmo-{size}"]))
       for size in ("small", "medium", "original")},
    # Shoeybi et al. 2019: the GPT-2 architecture at 72 layers, 3072 wide, 32 heads, vocabulary padded to 51,200.
    "MegatronLM 8.3B": (None, lambda: transformers.GPT2Config(
        vocab_size=51200, n_positions=1024, n_embd=3072, n_layer=72, n_head=32)),
}


def count(config: PretrainedConfig) -> dict:
    """Total, embedding and non-embedding parameters of the bare model (no task head), on the meta device."""
    with init_empty_weights():
        model = AutoModel.from_config(config)
    return split_count(model)


def split_count(model: torch.nn.Module) -> dict:
    total = sum(p.numel() for p in model.parameters())
    embedding = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Embedding) for p in m.parameters())
    return {"parameters": total, "embedding": embedding, "non_embedding": total - embedding,
            "mb_fp32": total * 4 / 1e6, "mb_fp16": total * 2 / 1e6}


def published_sizes(use_hub: bool | None = None) -> list[dict]:
    """One row per published model; `source` says whether its config came from the hub or the paper."""
    use_hub = hub_reachable() if use_hub is None else use_hub
    rows = []
    for name, (hub_id, offline) in PUBLISHED.items():
        config, source = offline(), "published hyperparameters"
        if use_hub and hub_id:
            try:
                config, source = AutoConfig.from_pretrained(hub_id), f"hub: {hub_id}"
            except OSError:
                pass
        rows.append({"model": name, "source": source, **count(config)})
    return rows


def run_sizes(records: list[RunRecord]) -> list[dict]:
    """Rows for the runs in outputs/: split from their saved config where transformers can build it."""
    rows = []
    for record in records:
        model = record.model
        row = {"model": record.run_id, "source": f"run: {record.recipe}/{record.method}",
               "parameters": record.parameters, "embedding": None, "non_embedding": None,
               # what the run trained and what it kept frozen (the ELMo step's encoder)
               "trained": model.get("trained_parameters", record.parameters),
               "frozen": model.get("frozen_parameters", 0),
               "mb_fp32": record.parameters * 4 / 1e6, "mb_fp16": record.parameters * 2 / 1e6}
        config_file = model_dir(record.run_dir) / "config.json"
        try:  # the bare model on the meta device gives the embedding share; the record's total keeps the head
            embedding = count(AutoConfig.from_pretrained(config_file.parent))["embedding"]
            row.update(embedding=embedding, non_embedding=record.parameters - embedding)
        except (OSError, ValueError, KeyError):
            pass  # not a transformers model (e.g. the BiLSTM): the record's total stands alone
        rows.append(row)
    return rows
