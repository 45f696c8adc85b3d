"""Search a recipe's options with Optuna: each trial a normal run, poor ones stopped early, chosen on validation.

    python recipes/search.py distill --trials 12                       # the distillation's default space
    python recipes/search.py distill --trials 12 --dataset ../shared/data/sst2 --max_train_samples 4000
    python recipes/search.py finetune --param learning_rate=1e-5:3e-4:log --param epochs=2,3,4 --model minilm
    python recipes/search.py rnn --space space.yaml --trials 20 --timeout_minutes 60
    python recipes/search.py distill --trials 12 --resume                # continue an interrupted search

Options this script does not take go to the recipe, the same for every trial. The space: --param flags
(name=low:high for any number between, :log for a log scale, :int for whole numbers; name=a,b,c for choices)
or a YAML file (`learning_rate: {low: 1e-4, high: 1e-2, log: true}`, `epochs: {low: 2, high: 6, int: true}`,
`vocab_size: [4000, 8000]`); with neither, the recipe's default space below. For distillation it
covers what users guess most: the temperature, the weights of the soft and gold-label losses, the student's
learning rate and its size (the BiLSTM's word vocabulary); its trials skip the labels-only twin and the
exports, and share one teacher. Trials run with --no_test (scored on validation, the test rows unused);
the best trial's options then run once more, on the test set: the only test figure the search makes. The
study, the trials' run folders, that last run (test-trial-<n>/) and trials.png are in
outputs/search-<recipe>-<study name>/.
"""

import argparse
import json
from pathlib import Path

from pipeline.harness.config import RecipeParser, run_cli
from pipeline.harness.errors import UsageError
from pipeline.harness.records import record_task_type
from pipeline.harness.reports import markdown_table
from pipeline.harness.search import parse_param, plot_trials, read_space, rerun_on_test, search

RECIPES = Path(__file__).resolve().parent
# Each recipe's default space, and the options its trials add (what a trial need not make).
SPACES = {
    "distill": (["temperature=1:8:log", "alpha_kd=0.25:1", "alpha_hard=0:1", "learning_rate=5e-4:5e-3:log",
                 "vocab_size=4000,8000,16000"], ["--no_ablation", "--no_export"]),
    "finetune": (["learning_rate=1e-5:3e-4:log", "warmup_ratio=0:0.2", "weight_decay=0:0.1"], []),
    "rnn": (["learning_rate=5e-4:1e-2:log", "hidden_size=64,128,256"], []),
    "elmo": (["learning_rate=5e-4:1e-2:log"], []),
    "bow": (["regularization=0.1:100:log"], []),
}


def main() -> None:
    parser = RecipeParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", choices=sorted(SPACES), help="the recipe whose options are searched")
    parser.add_argument("--trials", type=int, default=12, help="finished trials (completed or pruned) to reach")
    parser.add_argument("--param", action="append", default=[], help="a searched option (repeat for several)")
    parser.add_argument("--space", help="a YAML file of searched options")
    parser.add_argument("--timeout_minutes", type=float, default=None, help="start no trial after this long")
    parser.add_argument("--study_name", default="study", help="names the study's folder")
    parser.add_argument("--sampler_seed", type=int, default=0, help="seed of Optuna's TPE sampler")
    parser.add_argument("--resume", action="store_true", help="continue the study in its folder")
    parser.add_argument("--output_dir", default="outputs")
    args, recipe_args = parser.parse_known_args()
    if args.trials < 1:
        raise UsageError(f"--trials must be at least 1 (got {args.trials})")
    if args.timeout_minutes is not None and not args.timeout_minutes > 0:
        raise UsageError(f"--timeout_minutes must be positive (got {args.timeout_minutes})")
    if args.param and args.space:
        raise UsageError("give the space as --param flags or as --space FILE, not both")
    defaults, added = SPACES[args.recipe]
    space = (read_space(Path(args.space)) if args.space
             else [parse_param(p) for p in (args.param or defaults)])
    # the recipes' parser reads --push-to-hub as --push_to_hub: compare names spelt one way
    given = {"--" + a[2:].split("=", 1)[0].replace("-", "_") for a in recipe_args if a.startswith("--")}
    for option in ("--run_name", "--push_to_hub", "--no_test"):  # --output_dir and --resume are the search's own
        if option in given:
            raise UsageError(f"{option} is the search's to set for its trials; leave it out")
    clash = sorted({f"--{p.name}" for p in space} & given)
    if clash:
        raise UsageError(f"{', '.join(clash)} is searched, so it cannot also be fixed; leave it out of the options")
    folder = Path(args.output_dir) / f"search-{args.recipe}-{args.study_name}"
    print(f"searching {args.recipe}: " + "; ".join(p.describe() for p in space) + f" ({args.trials} trials)")

    # 1. The study: trials run until `--trials` have finished, each a normal run pruned on validation.
    trials = search(RECIPES / f"{args.recipe}.py", fixed=[*recipe_args, *added], space=space, trials=args.trials,
                    folder=folder, resume=args.resume, seed=args.sampler_seed, timeout_minutes=args.timeout_minutes)

    # 2. The best trial by validation, run once more on the test set (the trials never used it).
    done = [t for t in trials if t.state == "complete"]
    if not done:
        raise UsageError(f"no trial finished in {folder} (all were pruned or failed)")
    best = max(done, key=lambda t: t.validation)
    print(f"\n### the best trial ({best.number}) once more, scored on the test set", flush=True)
    record = rerun_on_test(RECIPES / f"{args.recipe}.py", fixed=[*recipe_args, *added], params=best.params,
                           folder=folder / f"test-trial-{best.number}")
    metric = record_task_type(record).main_metric

    # 3. The trials side by side, and the chosen options' test figure.
    rows = [{"trial": t.number, "state": t.state, f"validation {metric}": t.validation,
             **{k: f"{v:.4g}" if isinstance(v, float) else v for k, v in t.params.items()},
             "minutes": t.minutes} for t in trials]
    plot_trials(trials, folder / "trials.png", metric=metric)
    minutes = sum(t.minutes or 0 for t in trials)
    summary = {"recipe": args.recipe, "space": [p.describe() for p in space], "fixed": recipe_args,
               "trials": [vars(t) for t in trials], "best": {"trial": best.number, "params": best.params,
                                                             "validation": best.validation, "run_dir": best.run_dir,
                                                             "test": record.metrics[metric],
                                                             "test_run_dir": str(record.run_dir)},
               "minutes": minutes}
    (folder / "best.json").write_text(json.dumps(summary, indent=2, default=str))
    print("\n" + markdown_table(rows, list(rows[0])))
    print(f"\nbest: trial {best.number}, validation {metric} {best.validation:.4f}; its options on the test set: "
          f"{metric} {record.metrics[metric]:.4f} ({record.run_dir}); {len(trials)} trials in {minutes:.1f} minutes")
    print(f"{folder / 'trials.png'}\n{folder / 'best.json'}")


if __name__ == "__main__":
    run_cli(main)
