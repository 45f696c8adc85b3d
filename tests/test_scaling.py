"""Scaling out: the accelerate configs under recipes/configs/accelerate, and mixed precision on this machine.

These machines have no GPU, and accelerate turns FSDP and DeepSpeed on for GPU-type process groups
only, so those configs are checked as far as the launcher goes: accelerate's own validation of
the file, the environment it hands the processes, and (FSDP) the plugin it builds from that
environment wrapping each preset family's layers. DDP on CPU processes runs in test_finetune.py.
"""

import json
from functools import partial
from unittest import mock

import pytest
import torch
from safetensors.torch import load_file
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils import FullyShardedDataParallelPlugin
from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

from conftest import ROOT, crashed_copy, run_recipe
from pipeline.harness.tasks import TASK_TYPES, head_for
from pipeline.harness.models import ModelSpec, load_model, transformer_layers

CONFIGS = ROOT / "recipes" / "configs" / "accelerate"
# config -> what the launcher makes of it: launcher kind, processes, machines, mixed precision
EXPECTED = {
    "one_gpu_bf16": ("simple", 1, 1, "bf16"),
    "ddp": ("multi_gpu", 2, 1, "bf16"),
    "fsdp": ("fsdp", 2, 1, "bf16"),
    "deepspeed_zero2": ("deepspeed", 2, 1, "bf16"),
    "deepspeed_zero3": ("deepspeed", 2, 1, "bf16"),
    "two_machines": ("multi_gpu", 16, 2, "bf16"),
}


def launcher(config: str, *flags: str):
    """What `accelerate launch --config_file <config> <flags> recipes/finetune.py` settles on, before it starts."""
    args = launch_command_parser().parse_args(["--config_file", str(CONFIGS / f"{config}.yaml"), *flags,
                                               str(ROOT / "recipes" / "finetune.py")])
    args, defaults, precision_from_config = _validate_launch_command(args)
    if args.use_deepspeed:  # what launch_command adds before it hands over to DeepSpeed's launcher
        fields = list(defaults.deepspeed_config) + (["mixed_precision"] if precision_from_config else [])
        args.deepspeed_fields_from_accelerate_config = ",".join(fields)
    return args


def test_every_config_file_is_one_of_the_expected():
    assert sorted(p.stem for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("config", sorted(EXPECTED))
def test_the_launcher_accepts_each_config(config):
    kind, processes, machines, precision = EXPECTED[config]
    args = launcher(config, "--main_process_port", "0")
    found = ("deepspeed" if args.use_deepspeed else "fsdp" if args.use_fsdp
             else "multi_gpu" if args.multi_gpu else "simple")
    assert (found, args.num_processes, args.num_machines, args.mixed_precision) == (kind, processes, machines, precision)
    if kind in ("multi_gpu", "fsdp"):
        env = prepare_multi_gpu_env(args)
        assert env["ACCELERATE_MIXED_PRECISION"] == precision
        assert args.nproc_per_node == str(processes // machines)
        if machines > 1:
            assert (args.nnodes, args.node_rank) == ("2", 0) and args.rdzv_endpoint.startswith("10.0.0.1:")
    if kind == "fsdp":
        assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_VERSION"] == "2"
        assert env["FSDP_AUTO_WRAP_POLICY"] == "TRANSFORMER_BASED_WRAP"
        assert env["FSDP_STATE_DICT_TYPE"] == "SHARDED_STATE_DICT"  # resumable on another number of processes
    if kind == "deepspeed":
        _, env = prepare_deepspeed_cmd_env(args)
        assert env["ACCELERATE_USE_DEEPSPEED"] == "true"
        assert env["ACCELERATE_DEEPSPEED_ZERO_STAGE"] == config[-1]


@pytest.mark.parametrize("preset,layer", [("minilm", "BertLayer"), ("bert-tiny", "BertLayer"),
                                          ("distilbert-tiny", "TransformerBlock"), ("gpt2-tiny", "GPT2Block"),
                                          ("xlnet-tiny", "XLNetLayer")])
def test_fsdp_shards_every_family_layer_by_layer(preset, layer):
    """The plugin accelerate builds from fsdp.yaml's environment, given the classes the training loop names,
    makes each transformer layer its own unit (XLNet and DistilBERT name none themselves)."""
    model = load_model(ModelSpec(model=preset), head_for(["negative", "positive"], TASK_TYPES["single_label"]), ["the plot was superb ."] * 20).model
    env = prepare_multi_gpu_env(launcher("fsdp", "--main_process_port", "0"))
    with mock.patch.dict("os.environ", {k: v for k, v in env.items() if k.startswith(("FSDP_", "ACCELERATE_"))}):
        plugin = FullyShardedDataParallelPlugin()
    plugin.transformer_cls_names_to_wrap = transformer_layers(model)
    plugin.set_auto_wrap_policy(model)
    assert isinstance(plugin.auto_wrap_policy, partial)
    units = [name for name, module in model.named_modules()
             if plugin.auto_wrap_policy(module=module, recurse=False, nonwrapped_numel=0)]
    layers = [name for name, module in model.named_modules() if type(module).__name__ == layer]
    assert layers and set(layers) <= set(units), (units, layers)


def test_bf16_autocast_trains_and_resumes_exactly_on_cpu(tmp_path):
    """bf16 is what this CPU can run of mixed precision (fp16 needs a GPU in accelerate)."""
    args = ["--model", "bert-tiny", "--epochs", "2", "--max_train_samples", "96", "--max_eval_samples", "32",
            "--batch_size", "16", "--learning_rate", "1e-3", "--mixed_precision", "bf16", "--checkpoint_every", "3",
            "--keep_checkpoints"]
    assert run_recipe("finetune", [*args, "--output_dir", str(tmp_path / "full")]) == 0
    (run,) = (tmp_path / "full").iterdir()
    record = json.loads((run / "results.json").read_text())
    assert record["config"]["mixed_precision"] == "bf16" and record["device"]["mixed_precision"] == "bf16"
    # Autocast really ran: the same run in float32 gives close, but not equal, losses.
    float32 = [*args[:args.index("--mixed_precision")], *args[args.index("--mixed_precision") + 2:]]
    assert run_recipe("finetune", [*float32, "--output_dir", str(tmp_path / "float32")]) == 0
    (plain,) = (tmp_path / "float32").iterdir()
    losses, plain_losses = (json.loads((r / "results.json").read_text())["validation"]["losses"] for r in (run, plain))
    assert losses != plain_losses and max(abs(a - b) for a, b in zip(losses, plain_losses)) < 0.05
    crashed = crashed_copy(run, tmp_path / "crash", after_step=6)
    assert run_recipe("finetune", [*args, "--output_dir", str(crashed.parent), "--resume"]) == 0
    assert json.loads((crashed / "results.json").read_text())["validation"]["losses"] == record["validation"]["losses"]
    straight, resumed = (load_file(r / "model" / "model.safetensors") for r in (run, crashed))
    for key in straight:
        torch.testing.assert_close(resumed[key], straight[key], rtol=0, atol=0)
