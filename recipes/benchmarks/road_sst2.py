"""Benchmark: the road's first steps on SST-2 (full train, scored on test.tsv), and bag-of-words against
n-grams per phenomenon on the built-in data set.

    python recipes/benchmarks/road_sst2.py [--data ../shared/data/sst2]

Every figure is read back from the run records the recipes write under outputs/.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
          "--mixed_precision", "no", "--dynamo_backend", "no"]


def run(recipe: str, args: list[str], accelerate: bool = False) -> dict:
    command = [*(LAUNCH if accelerate else [sys.executable]), str(ROOT / "recipes" / f"{recipe}.py"), *args]
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    run_dir = [line for line in output.splitlines() if line.startswith("outputs/")][0]
    return json.loads((ROOT / run_dir / "results.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/sst2")
    args = parser.parse_args()
    data = ["--dataset", args.data, "--max_eval_samples", "2000"]

    tfidf = run("bow", [*data, "--features", "tfidf", "--ngram_max", "2", "--regularization", "10"])
    fasttext = run("bow", [*data, "--features", "fasttext", "--epochs", "3", "--learning_rate", "0.05"],
                   accelerate=True)
    cbow = run("word2vec", [*data, "--architecture", "cbow"])
    skipgram = run("word2vec", [*data, "--architecture", "skipgram"])
    rnn = run("rnn", [*data, "--epochs", "1", "--learning_rate", "2e-3", "--sequence_length", "48"], accelerate=True)
    print(f"SST-2, full train ({tfidf['task']['sizes']['train']:,} rows), test.tsv ({tfidf['task']['sizes']['test']} rows)")
    print(f"  TF-IDF 1-2-gram logistic regression: accuracy {tfidf['metrics']['accuracy']:.4f}, "
          f"fit {tfidf['fit_seconds']:.1f} s, run {tfidf['timings']['total_seconds']:.1f} s")
    print(f"  fastText (word + hashed bigrams): accuracy {fasttext['metrics']['accuracy']:.4f}, "
          f"{fasttext['timings']['seconds_per_epoch']:.1f} s/epoch, run {fasttext['timings']['total_seconds']:.0f} s")
    for name, record in (("CBOW", cbow), ("skip-gram", skipgram)):
        vectors = record["word_vectors"]
        print(f"  Word2Vec {name}: {vectors['words_per_second']:,.0f} words/s, averaged-vector classifier accuracy "
              f"{record['metrics']['accuracy']:.4f}, analogies {vectors['analogies']['accuracy']:.3f} "
              f"(OOV {vectors['analogies']['oov_ratio']:.0%}), wordsim353 rho {vectors['wordsim353']['spearman']}")
    print(f"  BiLSTM (random embeddings): accuracy {rnn['metrics']['accuracy']:.4f}, "
          f"{rnn['timings']['seconds_per_epoch']:.0f} s/epoch")

    bow = run("bow", ["--features", "binary", "--ngram_max", "1"])
    ngram = run("bow", ["--features", "tfidf", "--ngram_max", "2"])
    print("\nBuilt-in data set, test accuracy per phenomenon:")
    print(f"  {'phenomenon':<12}{'one-hot BoW':>12}{'1-2-grams':>12}")
    for phenomenon, value in bow["metrics"]["per_phenomenon"].items():
        print(f"  {phenomenon:<12}{value:>12.4f}{ngram['metrics']['per_phenomenon'][phenomenon]:>12.4f}")
    print(f"  {'all':<12}{bow['metrics']['accuracy']:>12.4f}{ngram['metrics']['accuracy']:>12.4f}")


if __name__ == "__main__":
    main()
