"""Secrets made once per checkout and kept in a JSON file that only its owner can read."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path


def kept_secrets(path: Path, make: Callable[[], dict[str, str]]) -> dict[str, str]:
    """The secrets in ``path``; made by ``make()`` and written there (mode 0600) the first time."""
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    path.parent.mkdir(parents=True, exist_ok=True)
    values = make()
    # Created with its final mode: the secrets are never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(values, indent=2))
    return values
