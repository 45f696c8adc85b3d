"""The Hugging Face Hub: fail fast when a hub name is used with no network, instead of minutes of download
retries; push a finished run's model folder (--push_to_hub)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from .errors import UsageError


def hub_reachable(timeout: float = 3.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((endpoint.hostname, endpoint.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def require_hub(kind: str, name: str, instead: str) -> None:
    """Raise a one-line UsageError unless the Hugging Face Hub answers."""
    if not hub_reachable():
        raise UsageError(f"{kind} '{name}' is not a local path and the Hugging Face Hub is unreachable: {instead}")


def check_push(hub_model_id: str | None, *, private: bool) -> None:
    """--push_to_hub is possible here: the Hub answers and a token is saved (`hf auth login` or HF_TOKEN);
    checked when the options are read, so a run never trains for minutes and then cannot be shared."""
    require_hub("--push_to_hub to", hub_model_id or "the Hub", "connect, or leave --push_to_hub out (the run "
                "folder can be pushed later with `hf upload`)")
    from huggingface_hub import get_token

    if get_token() is None:
        raise UsageError("--push_to_hub needs a Hugging Face token with write access: run `hf auth login` or set "
                         "HF_TOKEN")


def push_folder(folder: Path, *, repo_id: str, private: bool, local_path: str) -> str:
    """Upload a saved model folder (weights, tokenizer, card, exports) to the model repo `repo_id` in one
    commit, the card's loading snippets naming the repo instead of `local_path`; the repo's URL."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi()
    url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    operations = [CommitOperationAdd(path_in_repo=path.relative_to(folder).as_posix(), path_or_fileobj=str(path))
                  for path in sorted(folder.rglob("*")) if path.is_file() and path.name != "README.md"]
    card = folder / "README.md"
    if card.is_file():
        text = card.read_text(encoding="utf-8").replace(local_path, url.repo_id)
        operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=text.encode("utf-8")))
    api.create_commit(url.repo_id, operations=operations, commit_message=f"Upload {folder.parent.name} (nlp-road)",
                      repo_type="model")
    return str(url)
