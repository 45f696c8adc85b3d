"""Fail fast when a hub name is used with no network, instead of minutes of download retries."""

from __future__ import annotations

import os
import socket
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
