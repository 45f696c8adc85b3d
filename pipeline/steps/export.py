"""Shipping a classifier for CPU serving: ONNX, and ONNX with int8 weights (dynamic quantisation).

ONNX files are protobuf: loading one runs no Python code, unlike a pickled model. onnxruntime's
dynamic quantisation stores the weights of matrix products and recurrent cells as int8 and
quantises activations on the fly, the usual first step for a CPU model.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..harness.evaluation import row_logits, text_batch
from ..harness.tasks import TaskType

EXPORTS = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
INPUTS = ("input_ids", "attention_mask", "token_type_ids")  # those the tokenizer gives are exported


def export_onnx(model: torch.nn.Module, tokenizer, folder: Path) -> dict[str, Path]:
    """model.onnx and model.int8.onnx under `folder`; the model takes input_ids and attention_mask, and token_type_ids
    where its tokenizer gives them (a tagger's logits have a sequence axis too)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder.mkdir(parents=True, exist_ok=True)
    inputs = [name for name in INPUTS if name in tokenizer.model_input_names]
    texts = ["a short one", "and a somewhat longer second sentence"]
    # A model that reads token types (a pair student) is traced on pairs, so the second sentence's path is traced.
    sample = tokenizer(texts, texts[::-1] if "token_type_ids" in inputs else None, padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in inputs}
    with torch.no_grad():
        per_piece = model.eval()(**{name: sample[name] for name in inputs}).logits.dim() == 3
    axes["logits"] = axes["input_ids"] if per_piece else {0: "batch"}
    paths = {kind: folder / name for kind, name in EXPORTS.items()}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter warns about every traced branch
        torch.onnx.export(_LogitsOnly(model.eval(), inputs), tuple(sample[name] for name in inputs),
                          str(paths["onnx"]), input_names=inputs, output_names=["logits"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs a pre-processing hint for every model
    try:
        quantize_dynamic(str(paths["onnx"]), str(paths["onnx-int8"]), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    return paths


class _LogitsOnly(torch.nn.Module):
    def __init__(self, model: torch.nn.Module, inputs: list[str]):
        super().__init__()
        self.model, self.inputs = model, inputs

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.inputs, tensors))).logits


def onnx_predictor(path: Path, tokenizer, *, max_length: int, threads: int | None = None,
                   kind: TaskType | None = None) -> Callable[[list[str]], np.ndarray]:
    """texts -> logits with onnxruntime on the CPU, `threads` intra-op threads (default: torch's); a tagger's
    (`kind` reads words) per word."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    inputs = [given.name for given in session.get_inputs()]

    def run(texts: list[str]) -> np.ndarray:
        batch = text_batch(tokenizer, texts, kind=kind, max_length=max_length, tensors="np")
        logits = session.run(["logits"], {name: batch[name].astype(np.int64) for name in inputs})[0]
        if "word_starts" not in batch:
            return logits
        return row_logits(torch.from_numpy(logits), {"word_starts": torch.from_numpy(batch["word_starts"])}).numpy()

    return run
