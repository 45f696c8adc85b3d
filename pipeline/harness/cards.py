"""Model cards and the folder a transformers-style model is saved as."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .records import RunRecord, main_metric, record_task_type
from .runs import model_dir


def pretrained_writer(model, tokenizer, record: RunRecord, *, state_dict: dict | None = None,
                      card: Callable[[RunRecord], ModelCard] | None = None) -> Callable[[Path], None]:
    """What a model folder holds for transformers-style models: save_pretrained, tokenizer, model card
    (a classifier's unless `card` says otherwise). `state_dict`: the weights in full where the model is
    sharded across processes (TrainResult.state_dict), so the main process saves all of them."""

    def write(folder: Path) -> None:
        model.save_pretrained(folder, state_dict=state_dict or None)
        tokenizer.save_pretrained(folder)
        (card or model_card)(record).save(folder / "README.md")

    return write


CARD = """---
{{ card_data }}
---

# {{ model_name }}

A `{{ family }}` {{ description }} ({{ parameters }} parameters) trained by the `{{ recipe }}` recipe
of nlp-road on the data set `{{ dataset }}` (fingerprint `{{ fingerprint }}`).

## Results on the test split

| metric | value |
|---|---|
{% for name, value in metrics %}| {{ name }} | {{ value }} |
{% endfor %}
{% if phenomena %}
### {{ main }} per phenomenon

| phenomenon | {{ main }} |
|---|---|
{% for name, value in phenomena %}| {{ name }} | {{ value }} |
{% endfor %}{% endif %}
## Use

```python
from transformers import pipeline
model = pipeline("{{ pipeline_task }}", model="{{ path }}")
model("the plot was not bad at all ."{{ options }})
```

## Training

Seed {{ seed }}, config hash `{{ config_hash }}`; the full config and environment are in `../results.json`.
"""


def model_card(record: RunRecord) -> ModelCard:
    """The card of a run's model: its task type's metrics (the main one with its interval) and how to call it."""
    metrics, kind = record.metrics, record_task_type(record)
    data = ModelCardData(
        language="en", library_name="transformers", pipeline_tag=kind.pipeline_task,
        tags=["nlp-road", record.recipe, kind.name], model_name=record.run_id,
        eval_results=[EvalResult(task_type=kind.pipeline_task, dataset_type=record.task["name"],
                                 dataset_name=record.task["name"], metric_type=name, metric_value=metrics[name])
                      for name in kind.metrics])
    name, value, (low, high) = main_metric(record)
    rows = [(kind.metrics[name], f"{value:.4f} (95% CI {low:.4f} to {high:.4f})")]
    rows += [(title, f"{metrics[other]:.4f}") for other, title in list(kind.metrics.items())[1:]]
    if "threshold" in metrics:  # what turns the pipeline's probabilities into the labels scored here
        rows.append(("decision threshold", f"{metrics['threshold']:.2f}"))
    return ModelCard.from_template(
        data, template_str=CARD, family=record.model.get("family"), parameters=f"{record.parameters:,}",
        description=kind.description, main=kind.metrics[name], options=kind.pipeline_options,
        pipeline_task=kind.pipeline_task,
        recipe=record.recipe, dataset=record.task["name"], fingerprint=record.task["fingerprint"],
        metrics=rows, phenomena=[(k, f"{v:.4f}") for k, v in metrics.get("per_phenomenon", {}).items()],
        path=str(model_dir(record.run_dir)), seed=record.seed, config_hash=record.config_hash)
