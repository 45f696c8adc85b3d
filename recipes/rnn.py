"""Step three of the road: an LSTM (or GRU) reads the words in order, as in the classic IMDB lesson.

    accelerate launch recipes/rnn.py --cell lstm --bidirectional --sequence_length 64
    accelerate launch recipes/rnn.py --vectors outputs/word2vec-skipgram-mean-builtin-XXXX   # Word2Vec init
    accelerate launch recipes/rnn.py --dataset ../shared/data/conll2003      # a BiLSTM tagger

Sequences are padded or truncated to one fixed length (a tagger's batches to their longest sentence);
the vocabulary is saved with the model. The lesson: reading in order is what lets a model learn that
"not" flips the next word; a tagger reads each word's tag from both sides of it.
"""

from dataclasses import dataclass, field

from transformers import DataCollatorWithPadding

from pipeline.harness.config import parse_options, run_cli
from pipeline.harness.cards import push_run
from pipeline.harness.data import DataSpec, encode, joined_texts, load_task
from pipeline.harness.errors import UsageError
from pipeline.harness.finetuning import train_and_record
from pipeline.harness.models import LoadedModel, describe_model, train_tokenizer
from pipeline.harness.runs import RunOptions, start_run
from pipeline.steps.recurrent import RecurrentClassifier, RecurrentConfig, RecurrentTagger, embeddings_from_vectors
from pipeline.harness.reports import markdown_table, result_rows
from pipeline.harness.training import TrainConfig, make_accelerator
from pipeline.steps.word2vec import load_vectors


@dataclass
class RnnConfig:
    cell: str = field(default="lstm", metadata={"help": "lstm or gru."})
    bidirectional: bool = field(default=True, metadata={"help": "Read both ways (--no_bidirectional: one way)."})
    embedding_dim: int = field(default=100, metadata={"help": "Word embedding width (Word2Vec vectors set it)."})
    hidden_size: int = field(default=128, metadata={"help": "Recurrent state width."})
    num_layers: int = field(default=1, metadata={"help": "Stacked recurrent layers."})
    sequence_length: int = field(default=64, metadata={"help": "Pad or truncate every text to this many words."})
    vocab_size: int = field(default=20_000, metadata={"help": "Most frequent training words kept."})
    vectors: str | None = field(default=None, metadata={
        "help": "Initialise embeddings from Word2Vec: a word2vec run folder or a .txt/.bin vectors file."})


def main() -> None:
    (data_spec, rnn, train_config, options), config = parse_options(
        (DataSpec, RnnConfig, TrainConfig, RunOptions), __doc__)
    accelerator = make_accelerator(train_config)

    # 1. Data, and a word vocabulary from the training text.
    task = load_task(data_spec, tags_words=True)
    tokenizer = train_tokenizer("wordlevel", joined_texts(task.splits["train"]), rnn.vocab_size, "rnn")
    tokenizer.model_input_names = ["input_ids", "attention_mask"]
    encoded = encode(task, tokenizer, rnn.sequence_length)
    collate = (task.task_type.collator(tokenizer) if task.task_type.reads_words else
               DataCollatorWithPadding(tokenizer, padding="max_length", max_length=rnn.sequence_length))

    # 2. The model: embeddings (random or Word2Vec), a recurrent layer, a classifier.
    if rnn.cell not in ("lstm", "gru"):
        raise UsageError(f"--cell {rnn.cell!r}: choose lstm or gru")
    vectors, coverage = None, None
    if rnn.vectors:
        vectors = load_vectors(rnn.vectors)
    network = RecurrentTagger if task.task_type.reads_words else RecurrentClassifier
    model = network(RecurrentConfig(
        vocab_size=len(tokenizer), embedding_dim=vectors.vector_size if vectors else rnn.embedding_dim,
        hidden_size=rnn.hidden_size, num_layers=rnn.num_layers, cell=rnn.cell, bidirectional=rnn.bidirectional,
        pad_token_id=tokenizer.pad_token_id, **task.head()))
    if vectors is not None:
        weight, coverage = embeddings_from_vectors(tokenizer, vectors)
        model.embedding.weight.data.copy_(weight)
    name = f"{'bi' if rnn.bidirectional else ''}{rnn.cell}{'-tagger' if task.task_type.reads_words else ''}"
    info = describe_model(model, name=name, family="rnn",
                          vocabulary=len(tokenizer), vectors=rnn.vectors, vector_coverage=coverage)

    # 3-4. Train on the harness loop, evaluate on test, record with the vocabulary.
    run = start_run(options, "rnn", parts=[info["name"], task.name], config=config, accelerator=accelerator)
    record = train_and_record(run, LoadedModel(model, tokenizer, info), task, encoded, train_config=train_config,
                              accelerator=accelerator, resume=options.resume, max_length=rnn.sequence_length,
                              recipe="rnn", method="rnn", collate=collate)
    accelerator.print(f"\n{record.run_dir}\n" + markdown_table(result_rows(record), ["metric", "value"]))

    # 4. Shared on the Hugging Face Hub with --push_to_hub: the model folder, its card and exports.
    push_run(record, options, is_main_process=accelerator.is_main_process)


if __name__ == "__main__":
    run_cli(main)
