"""What a run ran on: package versions, device and processes, CPU, the git commit of the code."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import torch
from accelerate import Accelerator

PACKAGES = ["torch", "transformers", "datasets", "accelerate", "evaluate", "tokenizers", "gensim", "scikit-learn",
            "numpy", "huggingface-hub"]


def environment(accelerator: Accelerator) -> dict:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    versions["python"] = platform.python_version()
    device = {"type": str(accelerator.device), "distributed": str(accelerator.distributed_type),
              "processes": accelerator.num_processes, "mixed_precision": accelerator.mixed_precision,
              "cpu": _cpu_name(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        device["gpu"] = torch.cuda.get_device_name()
        device["max_memory_allocated_mb"] = torch.cuda.max_memory_allocated() / 2 ** 20  # this process's peak
    return {"git_commit": _git_commit(), "versions": versions, "device": device}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("-dirty" if dirty else "")) or None
