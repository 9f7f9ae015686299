"""Writing reports and messages to files the operator asked for."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rsdeploy_tui.errors import RsdeployError


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file, so a half-written file never exists.

    The file is private to the operator (mode 0600): logs name hosts, buckets and people.

    Raises:
        RsdeployError: the folder or file cannot be written (the sentence names the path).
    """
    path = path.expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False,
                                         prefix=f".{path.name}.", suffix=".tmp") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except OSError as error:
        raise RsdeployError("Cannot write the file",
                            f"Writing {path} failed: {error.strerror or error}.") from None
