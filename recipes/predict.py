"""Predict for your own sentences with any saved run: transformer, distilled student, RNN, n-grams or Word2Vec;
a class, a set of labels or a number, as the run's task type is.

    python recipes/predict.py outputs/<run> "the plot was not bad at all ."
    python recipes/predict.py outputs/<run> --file sentences.txt      # one sentence a line
    python recipes/predict.py outputs/<distill run> --export onnx-int8 "a dull , lifeless film ."
    echo "a gripping , moving film ." | python recipes/predict.py outputs/<run>
"""

import argparse
import json
import sys
from pathlib import Path

from pipeline.harness.config import RecipeParser, run_cli
from pipeline.harness.errors import UsageError
from pipeline.steps.export import EXPORTS
from pipeline.predictor import load_predictor


def main() -> None:
    parser = RecipeParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a finished run folder under outputs/")
    parser.add_argument("sentences", nargs="*", help="sentences to predict for (default: --file, else standard input)")
    parser.add_argument("--file", help="a UTF-8 text file, one sentence a line")
    parser.add_argument("--json", action="store_true", help="print JSON lines with every label's probability "
                                                            "(or the number, for regression)")
    parser.add_argument("--export", choices=list(EXPORTS), help="use an exported model of the run (onnxruntime)")
    args = parser.parse_intermixed_args()

    if args.sentences:
        texts = args.sentences
    elif args.file:
        if not Path(args.file).is_file():
            raise UsageError(f"--file '{args.file}' does not exist")
        try:
            texts = Path(args.file).read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise UsageError(f"--file '{args.file}' is not UTF-8; re-save it as UTF-8") from None
    else:
        texts = sys.stdin.read().splitlines()
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise UsageError("no sentences given: pass them as arguments, with --file, or on standard input")

    predictor = load_predictor(args.run, export=args.export)
    for text, (shown, line) in zip(texts, predictor.readable(texts)):
        print(json.dumps({"text": text, **shown}) if args.json else f"{line}\t{text}")


if __name__ == "__main__":
    run_cli(main)
