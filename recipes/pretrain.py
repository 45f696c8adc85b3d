"""Pretrain a language model on unlabelled text with its family's objective, then fine-tune it like any model.

    accelerate launch recipes/pretrain.py --objective mlm                # BERT (bert-tiny), masked LM
    accelerate launch recipes/pretrain.py --objective clm                # GPT-2 (gpt2-tiny), causal LM
    accelerate launch recipes/pretrain.py --objective plm                # XLNet (xlnet-tiny), permutation LM
    accelerate launch recipes/pretrain.py --objective bilm               # ELMo's biLM (elmo-tiny)
    accelerate launch recipes/pretrain.py --corpus reviews.txt --objective mlm --model minilm   # continue
    accelerate launch recipes/finetune.py --model outputs/pretrain-mlm-bert-tiny-builtin-<hash>

The lesson: the families differ first in how they learn from text nobody labelled, and that
pretraining is what lets a small labelled set go far. A finished pretraining of the same config
is reused, not repeated.
"""

from pipeline.harness.config import parse_options, run_cli
from pipeline.harness.cards import push_run
from pipeline.steps.pretraining.pretrainer import LOSS_CURVE, PRETRAIN_DEFAULTS, PRETRAIN_OPTIONS, pretrain
from pipeline.harness.reports import markdown_table
from pipeline.harness.training import make_accelerator


def main() -> None:
    (corpus_spec, spec, train_config, options), config = parse_options(PRETRAIN_OPTIONS, __doc__, defaults=PRETRAIN_DEFAULTS)
    accelerator = make_accelerator(train_config)

    # 1-4. The corpus (held-out texts apart), the model with its objective's head and a tokenizer of its
    #      family's kind trained on the corpus, training with the best held-out epoch kept, the record.
    record = pretrain(corpus_spec, spec, train_config=train_config, options=options, accelerator=accelerator,
                      config=config, only_stage=True)

    # 5. The result, for people.
    metrics = record.metrics
    rows = [{"metric": "objective", "value": record.method}, {"metric": "model", "value": record.model["name"]},
            {"metric": "parameters", "value": f"{record.parameters:,}"},
            {"metric": "training tokens", "value": f"{metrics['train_tokens']:,}"}]
    rows += [{"metric": f"held-out {k.replace('_', ' ')}", "value": f"{metrics[k]:.3f}"}
             for k in ("perplexity", "forward_perplexity", "backward_perplexity") if k in metrics]
    rows += [{"metric": "tokens/s (training)", "value": f"{metrics['tokens_per_second']:,.0f}"},
             {"metric": "minutes", "value": f"{record.timings['total_seconds'] / 60:.1f}"}]
    accelerator.print(f"\n{record.run_dir}  (loss curve: {LOSS_CURVE})\n" + markdown_table(rows, ["metric", "value"]))

    # 6. Shared on the Hugging Face Hub with --push_to_hub: the model folder, its card and exports.
    push_run(record, options, is_main_process=accelerator.is_main_process)


if __name__ == "__main__":
    run_cli(main)
