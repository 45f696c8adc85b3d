"""One way to name a data set for every recipe: `builtin`, a folder or files on disk, or a hub name.

Whatever the source, a `Task` comes back with the same shape: splits train/validation/test with a
`text` column (plus `text_pair` for sentence pairs), a `label` column as its task type encodes it (a
class id, a multi-hot row, a number: harness/tasks.py), and, for the built-in sets, the `phenomenon`
that decides each label. `load_task` reads as the steps it takes: read (sources), find columns
(columns), find the task type and encode the labels (tasks), complete the splits and fingerprint them
(splits); encoding for models is in `encoding`.
"""

from __future__ import annotations

from dataclasses import asdict

from datasets import DatasetDict, List

from ..errors import UsageError
from ..tasks import TASK_TYPES, TaskType, check_given, detect, task_type
from .columns import find_columns, missing_text
from .encoding import encode, encode_rows, joined_texts, length_order, row_inputs, token_counts
from .sources import BUILDERS, SPLIT_STEMS, TEXT_COLUMNS, load_hub, load_texts, read_splits
from .spec import DataSpec, Task
from .splits import complete_splits, fingerprint

__all__ = ["BUILDERS", "TEXT_COLUMNS", "DataSpec", "Task", "encode", "encode_rows", "joined_texts", "length_order",
           "load_hub", "load_task", "load_texts", "row_inputs", "token_counts"]


def load_task(spec: DataSpec, *, tags_words: bool = False) -> Task:
    """Load, validate and normalise a data set; every problem a user can fix raises UsageError.
    `tags_words`: the calling step can tag each word (token classification), not only classify texts."""
    raw, name = read_splits(spec)
    text, pair, label = find_columns(raw, spec)
    splits = DatasetDict({split: rows for split, rows in raw.items() if split in SPLIT_STEMS})
    if "train" not in splits:
        raise UsageError(f"data set '{name}' has no train split (found: {', '.join(raw) or 'none'}); "
                         "give --train_file or a folder with a train file")
    for split, rows in splits.items():
        if len(rows) == 0:
            raise UsageError(f"the {split} split of '{name}' is empty; give a file with at least one row")
    feature = splits["train"].features[label]
    words = isinstance(splits["train"].features[text], List)
    kind = task_type(spec.task_type) if spec.task_type else detect(feature, words=words)
    if spec.task_type:
        check_given(kind, feature, label, words=words)
    elif not words:
        check_words_as_text(splits["train"], text, label)
    if kind.reads_words and not tags_words:
        raise UsageError(f"'{name}' has a tag per word (token classification), and this recipe classifies whole "
                         "texts; tag words with recipes/finetune.py, bow.py, rnn.py, elmo.py or distill.py")
    check_applies(spec, kind)
    labels = kind.read(splits, label, spec, words=text if words else None)
    splits, label_names, mapping = labels.splits, labels.names, labels.mapping
    if words:  # the sentence as one text too: for steps that read texts, predictors and speed
        splits = DatasetDict({split: rows.map(lambda batch: {"sentence_text": [" ".join(w) for w in batch[text]]},
                                              batched=True) for split, rows in splits.items()})
    keep = ({text: "tokens", "sentence_text": "text"} if words else {text: "text"})
    keep = {**keep, label: "label", **({pair: "text_pair"} if pair else {})}
    splits = DatasetDict({
        split: rows.select_columns([c for c in rows.column_names if c in keep or c == "phenomenon"])
        .rename_columns({old: new for old, new in keep.items() if old != new})
        for split, rows in splits.items()
    })
    splits, dropped = missing_text(splits, spec.missing_text)
    splits = complete_splits(splits, spec, stratify=kind.stratify)
    left_out = []
    if spec.max_train_samples:
        train = splits["train"].shuffle(seed=spec.data_seed)
        kept = min(spec.max_train_samples, len(train))
        splits["train"] = train.select(range(kept))
        left_out = row_inputs(train.select(range(kept, len(train)))) if kept < len(train) else []
    if spec.max_eval_samples:
        for split in ("validation", "test"):
            splits[split] = splits[split].select(range(min(spec.max_eval_samples, len(splits[split]))))
    if spec.no_test:  # the test rows stay unused; what a run calls its test score is its validation score
        splits["test"] = splits["validation"]
    source = {k: v for k, v in asdict(spec).items() if v is not None}
    if dropped:
        source["dropped_missing_text"] = dropped
    weights = (kind.class_weights(splits["train"]["label"], spec.class_weights, label_names)
               if spec.class_weights else None)
    return Task(splits, name, label_names, mapping, pair is not None, fingerprint(splits, label_names), source,
                task_type=kind, task_type_from="given" if spec.task_type else "detected", label_info=labels.info,
                threshold=spec.threshold, left_out=left_out, class_weights=weights)


def check_words_as_text(rows, text: str, label: str) -> None:
    """Tags of a sentence's words beside that sentence as one string: refused, instead of trained as label sets."""
    sample = rows.select(range(min(200, len(rows))))
    texts, labels = sample[text], sample[label]
    if not all(isinstance(tags, list) for tags in labels) or max(map(len, labels), default=0) < 2:
        return
    per_word = sum(isinstance(words, str) and len(words.split()) == len(tags) for words, tags in zip(texts, labels))
    if per_word >= 0.9 * len(labels):
        raise UsageError(f"column '{label}' holds one tag per word of column '{text}', as token classification does, "
                         f"but '{text}' holds strings, not lists of words; write each row's words as a list "
                         f"(e.g. {{\"{text}\": [\"EU\", \"rejects\"], \"{label}\": [\"B-ORG\", \"O\"]}})")


def check_applies(spec: DataSpec, kind: TaskType) -> None:
    """Options of some task types are refused on another, rather than silently doing nothing."""
    defaults = DataSpec()
    for option in sorted({o for other in TASK_TYPES.values() for o in other.options} - set(kind.options)):
        if getattr(spec, option) != getattr(defaults, option):
            types = [other.name for other in TASK_TYPES.values() if option in other.options]
            raise UsageError(f"--{option} applies to {', '.join(types[:-1]) + ' and ' * (len(types) > 1) + types[-1]} tasks, and this one is {kind.name}; "
                             "leave it out")
