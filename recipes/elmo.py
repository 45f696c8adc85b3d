"""Step four of the road: ELMo. A pretrained biLM stays frozen; a task learns only how to mix its layers.

    accelerate launch recipes/elmo.py                        # the default biLM (pretrained first if missing)
    accelerate launch recipes/elmo.py --mix uniform          # the paper's ablations: uniform, top
    accelerate launch recipes/elmo.py --encoder minilm       # the same mix over a frozen transformer's layers
    accelerate launch recipes/elmo.py --encoder outputs/pretrain-bilm-elmo-tiny-builtin-<hash>
    accelerate launch recipes/elmo.py --encoder minilm --dataset ../shared/data/conll2003   # a tagger

ELMo_k = gamma * sum_j s_j h_k,j: a softmax weight per layer and a scale are all the task learns of
the language model, with a small BiLSTM on top. The parts that needed much text stay untouched, so
their layers are computed once and read from disk every epoch. The lesson: features that read the
whole sentence fix what bags of words get wrong on negation and contrast. Given words with a tag each, the
BiLSTM reads a tag from every word's states, as the ELMo paper's named-entity tagger.
"""

from pipeline.harness.config import parse_options, run_cli
from pipeline.harness.cards import push_run
from pipeline.harness.data import DataSpec, load_task
from pipeline.steps.elmo.features import ElmoSpec, load_encoder
from pipeline.steps.elmo.trainer import MIX_PLOT, train_elmo
from pipeline.harness.runs import RunOptions
from pipeline.harness.reports import markdown_table
from pipeline.harness.training import TrainConfig, make_accelerator

# Only the mix and a small BiLSTM learn: a higher rate and more epochs than fine-tuning a transformer.
ELMO_DEFAULTS = {"learning_rate": 1e-3, "epochs": 15}


def main() -> None:
    (data_spec, spec, train_config, options), config = parse_options(
        (DataSpec, ElmoSpec, TrainConfig, RunOptions), __doc__, defaults=ELMO_DEFAULTS)
    accelerator = make_accelerator(train_config)

    # 1. Data, and the frozen language model (the default biLM is pretrained first unless a run of it finished).
    task = load_task(data_spec, tags_words=True)
    encoder = load_encoder(spec, options=options, accelerator=accelerator)

    # 2-4. Each layer's vectors computed once, a scalar mix and a BiLSTM trained over them, test, record.
    record = train_elmo(task, encoder, spec, train_config=train_config, options=options, accelerator=accelerator,
                        config=config)

    # 5. The result, for people: against a bag of words on the same sentences, then what the mix learned.
    base, mix, model = record.extra["versus_baseline"], record.extra["mix"], record.model
    phenomena, metric = list(record.metrics.get("per_phenomenon", {})), task.task_type.main_metric
    rows = [{"model": name, metric: f"{metrics[metric]:.4f}",
             **{p: f"{metrics['per_phenomenon'][p]:.3f}" for p in phenomena}}
            for name, metrics in ((base["baseline"], base), (model["name"], record.metrics))]
    rows[1][metric] += f" ({base['difference']:+.4f}, {base['test']} p={base['p_value']:.1e})"
    details = [{"metric": f"s_j {name}", "value": f"{w:.3f}"} for name, w in zip(mix["layers"], mix["weights"])]
    details += [{"metric": "gamma", "value": f"{mix['gamma']:.3f}"},
                {"metric": "trained / frozen parameters",
                 "value": f"{model['trained_parameters']:,} / {model['frozen_parameters']:,}"},
                {"metric": "seconds per epoch", "value": f"{record.timings['seconds_per_epoch']:.1f}"},
                {"metric": "samples/s (inference, encoder included)",
                 "value": f"{record.metrics['speed']['samples_per_second']:.0f}"}]
    accelerator.print(f"\n{record.run_dir}  (layer weights: {MIX_PLOT})\n"
                      + markdown_table(rows, ["model", metric, *phenomena]) + "\n\n"
                      + markdown_table(details, ["metric", "value"]))

    # 6. Shared on the Hugging Face Hub with --push_to_hub: the model folder, its card and exports.
    push_run(record, options, is_main_process=accelerator.is_main_process)


if __name__ == "__main__":
    run_cli(main)
