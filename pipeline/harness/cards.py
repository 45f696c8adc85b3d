"""Model cards and the folder a transformers-style model is saved as."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .records import RunRecord
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

A `{{ family }}` sequence classifier ({{ parameters }} parameters) trained by the `{{ recipe }}` recipe
of nlp-road on the data set `{{ dataset }}` (fingerprint `{{ fingerprint }}`).

## Results on the test split

| metric | value |
|---|---|
{% for name, value in metrics %}| {{ name }} | {{ value }} |
{% endfor %}
{% if phenomena %}
### Accuracy per phenomenon

| phenomenon | accuracy |
|---|---|
{% for name, value in phenomena %}| {{ name }} | {{ value }} |
{% endfor %}{% endif %}
## Use

```python
from transformers import pipeline
classifier = pipeline("text-classification", model="{{ path }}")
classifier("the plot was not bad at all .")
```

## Training

Seed {{ seed }}, config hash `{{ config_hash }}`; the full config and environment are in `../results.json`.
"""


def model_card(record: RunRecord) -> ModelCard:
    metrics = record.metrics
    data = ModelCardData(
        language="en", library_name="transformers", pipeline_tag="text-classification",
        tags=["nlp-road", record.recipe], model_name=record.run_id,
        eval_results=[EvalResult(task_type="text-classification", dataset_type=record.task["name"],
                                 dataset_name=record.task["name"], metric_type=name, metric_value=metrics[name])
                      for name in ("accuracy", "f1_macro", "matthews_correlation")])
    low, high = metrics["accuracy_ci95"]
    rows = [("accuracy", f"{metrics['accuracy']:.4f} (95% CI {low:.4f} to {high:.4f})"),
            ("macro F1", f"{metrics['f1_macro']:.4f}"), ("Matthews correlation", f"{metrics['matthews_correlation']:.4f}")]
    return ModelCard.from_template(
        data, template_str=CARD, family=record.model.get("family"), parameters=f"{record.parameters:,}",
        recipe=record.recipe, dataset=record.task["name"], fingerprint=record.task["fingerprint"],
        metrics=rows, phenomena=[(k, f"{v:.4f}") for k, v in metrics.get("per_phenomenon", {}).items()],
        path=str(model_dir(record.run_dir)), seed=record.seed, config_hash=record.config_hash)
