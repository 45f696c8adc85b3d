"""Model cards and the folder a transformers-style model is saved as."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from huggingface_hub.errors import HfHubHTTPError

from .errors import UsageError
from .hub import push_folder
from .records import RunRecord, main_metric, record_task_type
from .runs import RunOptions, model_dir


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

# {{ title }}

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

{% if not_in_pipeline %}Not through transformers' `pipeline`: {{ not_in_pipeline }}.
{% else %}With transformers (importing nlp-road registers the model classes it defines with the Auto classes; no
remote code runs):

```python
import pipeline as nlp_road  # noqa: F401
from transformers import pipeline
model = pipeline("{{ pipeline_task }}", model="{{ path }}")
model("the plot was not bad at all ."{{ options }})
```
{% endif %}
With nlp-road's predictor (the run's own decision threshold and label names; `--json` for machine-readable lines):

```bash
python recipes/predict.py {{ run_dir }} "the plot was not bad at all ."
```
{% for export in exports %}
With onnxruntime (`{{ export.name }}`, {{ "%.1f" | format(export.size_mb) }} MB, {{ export.metric }} {{ "%.4f" | format(export.score) }} on the test split):

```python
import onnxruntime
from transformers import AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained("{{ path }}")
session = onnxruntime.InferenceSession("{{ export.path }}")
inputs = tokenizer(["the plot was not bad at all ."], return_tensors="np")
logits = session.run(None, {"input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"]})[0]
```
{% endfor %}
## Training

Seed {{ seed }}, config hash `{{ config_hash }}`; the full config and environment are in `../results.json`.
"""


# The library that loads a run's model, by the record's model class, where it is not transformers.
LIBRARIES = {"sklearn": "sklearn", "word2vec": "gensim"}


def model_card(record: RunRecord) -> ModelCard:
    """The card of a run's model: its task type's metrics (the main one with its interval) and how to call it."""
    metrics, kind = record.metrics, record_task_type(record)
    data = ModelCardData(
        language="en", library_name=LIBRARIES.get(record.model.get("class"), "transformers"),
        pipeline_tag=kind.pipeline_task,
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
        pipeline_task=kind.pipeline_task, title=f"{record.run_id}: {record.model.get('name')} for {record.task['name']}",
        not_in_pipeline=record.model.get("not_in_pipeline"), run_dir=str(record.run_dir),
        exports=[{"name": name, "path": export["path"], "size_mb": export["size_mb"], "metric": export["metric"],
                  "score": export[export["metric"]]} for name, export in record.extra.get("exports", {}).items()],
        recipe=record.recipe, dataset=record.task["name"], fingerprint=record.task["fingerprint"],
        metrics=rows, phenomena=[(k, f"{v:.4f}") for k, v in metrics.get("per_phenomenon", {}).items()],
        path=str(model_dir(record.run_dir)), seed=record.seed, config_hash=record.config_hash)


def push_run(record: RunRecord, options: RunOptions, *, is_main_process: bool = True) -> str | None:
    """--push_to_hub: the run's model folder to the Hub (repo --hub_model_id, default the run's name); its URL."""
    if not options.push_to_hub or not is_main_process:
        return None
    folder = model_dir(record.run_dir)
    repo_id = options.hub_model_id or record.run_id
    try:
        url = push_folder(folder, repo_id=repo_id, private=options.hub_private, local_path=str(folder))
    except (HfHubHTTPError, OSError) as error:
        raise UsageError(f"pushing {folder} to the Hub repo '{repo_id}' failed ({str(error).splitlines()[0][:160]}); "
                         f"the run is saved, push it later with `hf upload {repo_id} {folder}`") from None
    print(f"pushed {folder} to {url}")
    return url
