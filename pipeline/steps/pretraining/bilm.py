"""The ELMo biLM (Peters et al. 2018): a forward and a backward LSTM language model that share the token
representation (a character CNN with highway layers, or word embeddings) and the softmax.

Each direction is two LSTM layers with projections and a residual connection between them. The
layers the ELMo step mixes are the token representation (repeated for both directions) and each
LSTM layer's [forward; backward] states. The classes are transformers `PreTrainedModel`s, so runs
save safetensors and `from_pretrained` loads them without executing code; registering the config
lets the Auto classes and the parameter report build them by name.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import nn
from transformers import (AutoConfig, AutoModel, AutoTokenizer, BatchEncoding, PretrainedConfig,
                          PreTrainedTokenizerFast)
from transformers.modeling_outputs import BaseModelOutput
from transformers.utils import ModelOutput

from ...harness.models import TorchInitModel
from ...harness.tasks import padded_words

warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")

# Characters as ELMo encodes them: 256 UTF-8 bytes, then begin/end of sentence, begin/end of word and
# padding; every id is shifted by one so that 0 marks a token slot that holds no token.
BOS_CHAR, EOS_CHAR, BOW_CHAR, EOW_CHAR, PAD_CHAR = 256, 257, 258, 259, 260
CHARACTERS = 262
ELMO_FILTERS = [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]]

# The published sizes (allennlp's elmo_2x1024_128, 2x2048_256 and 2x4096_512 options), and a small one
# that trains here in minutes. Published counts exclude the softmax, as `BiLM` does.
BILM_PRESETS: dict[str, dict] = {
    # Cells as wide as the projection (so none): torch's fused LSTM kernel runs it 2.6x faster here.
    "elmo-tiny": dict(filters=[[1, 32], [2, 32], [3, 64], [4, 128]], n_highway=1, projection_dim=128,
                      lstm_dim=128, max_characters_per_token=20),
    "elmo-small": dict(filters=ELMO_FILTERS, n_highway=1, projection_dim=128, lstm_dim=1024),
    "elmo-medium": dict(filters=ELMO_FILTERS, n_highway=1, projection_dim=256, lstm_dim=2048),
    "elmo-original": dict(filters=ELMO_FILTERS, n_highway=2, projection_dim=512, lstm_dim=4096),
}
PUBLISHED_PARAMETERS = {"elmo-small": 13.6e6, "elmo-medium": 28.0e6, "elmo-original": 93.6e6}


class BiLMConfig(PretrainedConfig):
    model_type = "nlp-road-bilm"

    def __init__(self, *, vocab_size: int = 8000, token_representation: str = "char", char_embedding_dim: int = 16,
                 filters: list | None = None, n_highway: int = 1, max_characters_per_token: int = 50,
                 word_embedding_dim: int = 128, projection_dim: int = 128, lstm_dim: int = 1024, n_layers: int = 2,
                 dropout: float = 0.1, pad_token_id: int = 0, **kwargs):
        self.vocab_size = vocab_size
        self.token_representation = token_representation
        self.char_embedding_dim = char_embedding_dim
        self.filters = [list(f) for f in (filters or ELMO_FILTERS)]
        self.n_highway = n_highway
        self.max_characters_per_token = max_characters_per_token
        self.word_embedding_dim = word_embedding_dim
        self.projection_dim = projection_dim
        self.lstm_dim = lstm_dim
        self.n_layers = n_layers
        self.dropout = dropout
        super().__init__(pad_token_id=pad_token_id, **kwargs)


class CharacterEncoder(nn.Module):
    """Character embeddings -> convolutions of several widths, max-pooled -> highway layers -> projection."""

    def __init__(self, config: BiLMConfig):
        super().__init__()
        self.embedding = nn.Embedding(CHARACTERS, config.char_embedding_dim, padding_idx=0)
        self.convolutions = nn.ModuleList(nn.Conv1d(config.char_embedding_dim, count, width)
                                          for width, count in config.filters)
        width = sum(count for _, count in config.filters)
        self.highways = nn.ModuleList(nn.Linear(width, 2 * width) for _ in range(config.n_highway))
        self.projection = nn.Linear(width, config.projection_dim)

    def forward(self, char_ids: torch.Tensor) -> torch.Tensor:
        batch, length, chars = char_ids.shape
        x = self.embedding(char_ids.view(batch * length, chars)).transpose(1, 2)
        x = torch.relu(torch.cat([conv(x).max(dim=-1).values for conv in self.convolutions], dim=-1))
        for highway in self.highways:
            nonlinear, gate = highway(x).chunk(2, dim=-1)
            gate = torch.sigmoid(gate)
            x = gate * x + (1 - gate) * torch.relu(nonlinear)
        return self.projection(x).view(batch, length, -1)


class BiLMPreTrainedModel(TorchInitModel):
    config_class = BiLMConfig
    base_model_prefix = "bilm"


class BiLM(BiLMPreTrainedModel):
    """The biLM without its softmax: what ELMo features are read from (and what the published counts cover)."""

    def __init__(self, config: BiLMConfig):
        super().__init__(config)
        width, cell = config.projection_dim, config.lstm_dim
        if config.token_representation == "char":
            self.tokens = CharacterEncoder(config)
        else:
            self.tokens = nn.Sequential(nn.Embedding(config.vocab_size, config.word_embedding_dim,
                                                     padding_idx=config.pad_token_id),
                                        nn.Linear(config.word_embedding_dim, width))

        def stack() -> nn.ModuleList:
            return nn.ModuleList(_one_bias(nn.LSTM(width, cell, batch_first=True,
                                                   proj_size=width if cell != width else 0))
                                 for _ in range(config.n_layers))

        self.forward_layers, self.backward_layers = stack(), stack()
        self.dropout = nn.Dropout(config.dropout)
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                char_ids: torch.Tensor | None = None, **_) -> BaseModelOutput:
        """hidden_states: the token layer [x; x], then each LSTM layer's [forward; backward], (B, T, 2P) each."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        tokens = self.tokens(char_ids if self.config.token_representation == "char" else input_ids)
        lengths = attention_mask.sum(-1).clamp(min=1).unsqueeze(1)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        # Position t of the reversed sequence reads token length-1-t; padding stays where it is.
        reverse = torch.where(positions < lengths, lengths - 1 - positions, positions)
        forward_states = self._run(self.forward_layers, tokens)
        backward_states = [_reorder(h, reverse) for h in self._run(self.backward_layers, _reorder(tokens, reverse))]
        layers = [torch.cat([tokens, tokens], dim=-1)]
        layers += [torch.cat([f, b], dim=-1) for f, b in zip(forward_states, backward_states)]
        return BaseModelOutput(last_hidden_state=layers[-1], hidden_states=tuple(layers))

    def _run(self, layers: nn.ModuleList, inputs: torch.Tensor) -> list[torch.Tensor]:
        states, hidden = [], inputs
        for index, lstm in enumerate(layers):
            output, _ = lstm(self.dropout(hidden))
            hidden = output + hidden if index else output  # the residual connection between LSTM layers
            states.append(hidden)
        return states


@dataclass
class BiLMOutput(ModelOutput):
    loss: torch.Tensor | None = None
    forward_loss: torch.Tensor | None = None
    backward_loss: torch.Tensor | None = None
    targets: torch.Tensor | None = None  # how many tokens each direction predicted
    hidden_states: tuple | None = None


class BiLMForLanguageModeling(BiLMPreTrainedModel):
    """The biLM and its softmax, shared by both directions: the forward LM predicts each next token, the
    backward LM each previous one; the loss is their mean."""

    def __init__(self, config: BiLMConfig):
        super().__init__(config)
        self.bilm = BiLM(config)
        self.softmax = nn.Linear(config.projection_dim, config.vocab_size)
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                char_ids: torch.Tensor | None = None, **_) -> BiLMOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        layers = self.bilm(input_ids, attention_mask=attention_mask, char_ids=char_ids).hidden_states
        forward_top, backward_top = self.bilm.dropout(layers[-1]).chunk(2, dim=-1)
        real = attention_mask[:, 1:].bool()
        next_tokens = input_ids[:, 1:].masked_fill(~real, -100)
        previous_tokens = input_ids[:, :-1].masked_fill(~real, -100)
        loss = nn.functional.cross_entropy
        forward_loss = loss(self.softmax(forward_top[:, :-1]).flatten(0, 1), next_tokens.flatten())
        backward_loss = loss(self.softmax(backward_top[:, 1:]).flatten(0, 1), previous_tokens.flatten())
        return BiLMOutput(loss=(forward_loss + backward_loss) / 2, forward_loss=forward_loss,
                          backward_loss=backward_loss, targets=real.sum(), hidden_states=layers)


def _one_bias(lstm: nn.LSTM) -> nn.LSTM:
    """ELMo's cell has one bias per gate, torch's LSTM two (input and recurrent): the recurrent one becomes
    a constant zero, so the model and its parameter count are ELMo's."""
    for name in [n for n in lstm._flat_weights_names if n.startswith("bias_hh")]:
        zeros = torch.zeros_like(getattr(lstm, name))
        delattr(lstm, name)
        lstm.register_buffer(name, zeros)
    lstm._init_flat_weights()
    return lstm


def _reorder(sequence: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return sequence.gather(1, index.unsqueeze(-1).expand(-1, -1, sequence.shape[-1]))


def word_inputs(tokenizer, texts: list[str], max_length: int) -> dict[str, list]:
    """Word ids with <S> and </S> around each text, and the words themselves (for the character CNN)."""
    backend = tokenizer.backend_tokenizer
    rows = {"input_ids": [], "words": []}
    for text in texts:
        words = [w for w, _ in backend.pre_tokenizer.pre_tokenize_str(backend.normalizer.normalize_str(text))]
        words = [tokenizer.bos_token, *words[:max_length - 2], tokenizer.eos_token]
        rows["words"].append(words)
        rows["input_ids"].append(tokenizer.convert_tokens_to_ids(words))
    return rows


def char_ids(words: list[list[str]], length: int, chars: int, *, bos: str = "<S>", eos: str = "</S>") -> torch.Tensor:
    """(batch, length, chars) character ids of padded word lists, as ELMo encodes them."""
    out = torch.zeros(len(words), length, chars, dtype=torch.long)
    for i, sentence in enumerate(words):
        for j, word in enumerate(sentence[:length]):
            if word == bos or word == eos:
                codes = [BOS_CHAR if word == bos else EOS_CHAR]
            else:
                codes = list(word.encode("utf-8"))[:chars - 2]
            codes = [BOW_CHAR, *codes, EOW_CHAR]
            out[i, j] = torch.tensor(codes + [PAD_CHAR] * (chars - len(codes))) + 1
    return out


class BiLMCollator:
    """Pads word ids and builds the character ids the CNN reads."""

    def __init__(self, tokenizer, max_characters_per_token: int):
        self.tokenizer, self.chars = tokenizer, max_characters_per_token

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        length = max(len(r["input_ids"]) for r in rows)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([r["input_ids"] + [pad] * (length - len(r["input_ids"])) for r in rows])
        mask = torch.tensor([[1] * len(r["input_ids"]) + [0] * (length - len(r["input_ids"])) for r in rows])
        batch = {"input_ids": input_ids, "attention_mask": mask,
                 "char_ids": char_ids([r["words"] for r in rows], length, self.chars,
                                      bos=self.tokenizer.bos_token, eos=self.tokenizer.eos_token)}
        if "word_starts" in rows[0]:  # a tagger's: a value per token
            batch.update(padded_words(rows, length))
        elif "labels" in rows[0]:
            batch["labels"] = torch.tensor([r["labels"] for r in rows])
        return batch


class WordBatch(dict):
    """Encoded rows of words that say which word each token is, as a fast tokenizer's encodings do (word_ids)."""

    def __init__(self, data: dict, word_ids: list[list[int | None]]):
        super().__init__(data)
        self.ids = word_ids

    def word_ids(self, row: int) -> list[int | None]:
        return self.ids[row]


class BiLMTokenizer(PreTrainedTokenizerFast):
    """The biLM's word tokenizer called as the biLM reads text: word ids between <S> and </S>, and each word's
    characters (`char_ids`, for the character CNN). A tagger's rows of words (`is_split_into_words`) are split
    into the tokens pretraining read, and the result says which word each token is of. An ELMo run saves it
    (its tokenizer_config names this class), so after `import pipeline` AutoTokenizer and `transformers.pipeline`
    feed a saved run raw text."""

    model_input_names = ["input_ids", "words"]  # the columns an encoded data set keeps (the collator reads words)

    # No __init__ of its own: transformers then loads the saved tokenizer.json whole (pre-tokenizer and all), and
    # keeps the extra option in init_kwargs, which save_pretrained writes to tokenizer_config.json.
    @property
    def max_characters_per_token(self) -> int:
        return self.init_kwargs["max_characters_per_token"]

    @classmethod
    def of(cls, tokenizer, max_characters_per_token: int) -> "BiLMTokenizer":
        """A biLM run's word tokenizer (saved before this class, or by pretraining) as this class."""
        return cls(tokenizer_object=tokenizer.backend_tokenizer, max_characters_per_token=max_characters_per_token,
                   bos_token=tokenizer.bos_token, eos_token=tokenizer.eos_token, pad_token=tokenizer.pad_token,
                   unk_token=tokenizer.unk_token)

    def __call__(self, text, *, is_split_into_words: bool = False, padding: bool = False, max_length: int | None = None,
                 return_offsets_mapping: bool = False, return_special_tokens_mask: bool = False, **_) -> dict:
        collate, max_length = BiLMCollator(self, self.max_characters_per_token), max_length or 512
        if not is_split_into_words:
            texts = [text] if isinstance(text, str) else list(text)
            rows = word_inputs(self, texts, max_length)
            batch = collate([{"input_ids": i, "words": w} for i, w in zip(rows["input_ids"], rows["words"])])
            if return_offsets_mapping or return_special_tokens_mask:  # what the token-classification pipeline reads
                width = batch["input_ids"].shape[1]
                spans = [[(0, 0), *self.backend_tokenizer.encode(t, add_special_tokens=False).offsets[:max_length - 2],
                          (0, 0)] for t in texts]
                batch["offset_mapping"] = torch.tensor([row + [(0, 0)] * (width - len(row)) for row in spans])
                batch["special_tokens_mask"] = torch.tensor([[0 if 0 < j < len(row) - 1 else 1 for j in range(width)]
                                                             for row in spans])
            return BatchEncoding(batch)
        backend = self.backend_tokenizer
        rows, word_ids = {"input_ids": [], "words": []}, []
        for sentence in text:  # each word split as pretraining split text ('U.S.' -> 'u . s .'), its number on each piece
            pieces = [(piece, number) for number, word in enumerate(sentence)
                      for piece, _ in backend.pre_tokenizer.pre_tokenize_str(backend.normalizer.normalize_str(word))]
            pieces = pieces[:max_length - 2]
            words = [self.bos_token, *(piece for piece, _ in pieces), self.eos_token]
            rows["words"].append(words)
            rows["input_ids"].append(self.convert_tokens_to_ids(words))
            word_ids.append([None, *(number for _, number in pieces), None])
        if not padding:
            return WordBatch(rows, word_ids)
        batch = collate([{"input_ids": i, "words": w} for i, w in zip(rows["input_ids"], rows["words"])])
        width = batch["input_ids"].shape[1]
        return WordBatch(batch, [ids + [None] * (width - len(ids)) for ids in word_ids])


AutoConfig.register(BiLMConfig.model_type, BiLMConfig)
AutoModel.register(BiLMConfig, BiLM)
AutoTokenizer.register(BiLMConfig, tokenizer_class=BiLMTokenizer)
