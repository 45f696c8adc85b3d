"""See what a transformer run attends to: every layer's and head's attention over one sentence.

    python recipes/attention.py outputs/<run> "the plot was not bad at all ."
    python recipes/attention.py outputs/<run> "a dull film , but the cast is superb ." --layer 2

The lesson: self-attention is a softmax over the sentence. In each head, every token's query is
compared with every token's key (Q K^T / sqrt(d)), the scores of a row become weights that sum to
1, and the token's new state is the weighted sum of the values. Heads differ: some look at the next
or previous token, some at [CLS] or [SEP] (a place to put weight when nothing matters), some link
"not" to what it negates. Two PNGs: the grid of every layer and head, and one layer (default: the
last) averaged over its heads, with its weights written in; the terminal shows which token each token
attends to most in that layer. A BiLSTM, fastText or bag-of-words run has no attention, and says so.
"""

import hashlib
from pathlib import Path

from pipeline.harness.config import RecipeParser, run_cli
from pipeline.harness.errors import UsageError
from pipeline.harness.records import read_record
from pipeline.harness.runs import RECORD
from pipeline.steps.attention import plot_heads, plot_layer_mean, sentence_attention


def main() -> None:
    parser = RecipeParser(description=__doc__)
    parser.add_argument("run", help="a finished transformer run folder under outputs/")
    parser.add_argument("sentence", help="the sentence to look at")
    parser.add_argument("--layer", type=int, default=None, help="the layer averaged over heads (1 = first; "
                                                                 "default: the last)")
    parser.add_argument("--max_tokens", type=int, default=64, help="read at most this many tokens")
    parser.add_argument("--output_dir", default="outputs/attention", help="where the PNGs go")
    args = parser.parse_args()
    run = Path(args.run)
    if not (run / RECORD).is_file():
        raise UsageError(f"'{run}' is not a finished run (no {RECORD}); give a folder under outputs/")
    if not args.sentence.strip():
        raise UsageError("the sentence is empty; give a sentence to look at")
    if args.max_tokens < 2:
        raise UsageError(f"--max_tokens must be at least 2 (got {args.max_tokens})")

    # 1. The run's model, in the implementation that forms the attention matrices, over the sentence.
    attention = sentence_attention(run, read_record(run), args.sentence, max_tokens=args.max_tokens)
    layers, heads = attention.weights.shape[:2]
    layer = layers if args.layer is None else args.layer
    if not 1 <= layer <= layers:
        raise UsageError(f"--layer {args.layer}: this model has layers 1 to {layers}")

    # 2. The pictures: every head, and one layer's mean.
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{run.name}-{hashlib.sha256(args.sentence.encode()).hexdigest()[:8]}"
    grid, mean = out / f"{stem}-heads.png", out / f"{stem}-layer{layer}.png"
    plot_heads(attention, grid, title=f"{run.name}: {layers} layers x {heads} heads")
    plot_layer_mean(attention, layer - 1, mean, title=f"layer {layer}, mean of {heads} heads")

    # 3. In words: where each token looks most in that layer.
    weights = attention.layer_mean(layer - 1)
    print(f"layer {layer} of {layers}, mean over {heads} heads: each token's strongest key")
    for token, row in zip(attention.tokens, weights):
        print(f"  {token:>15} -> {attention.tokens[int(row.argmax())]:<15} {row.max():.2f}")
    print(f"\n{grid}\n{mean}")


if __name__ == "__main__":
    run_cli(main)
