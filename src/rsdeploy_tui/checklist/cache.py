"""Parsed checklists kept between launches: the TUI's start-up skips YAML (~20 ms to import
PyYAML and parse and validate the bundled checklist).

An entry is keyed by everything the result depends on: the file's bytes (sha256) and path, the
package version, and the size and mtime of the code that reads and validates checklists (this
package and the check specs). Any change loads and validates afresh. Only checklists that
loaded without a problem are kept, so a broken file always gets its located messages.

Best effort: an unreadable, foreign or stale entry is ignored (and replaced); a cache that cannot
be written is skipped. Entries live in ``<cache dir>/checklists`` (mode 0700; ``locations``),
and deleting them is always safe.
"""

from __future__ import annotations

import contextlib
import copyreg
import hashlib
import os
import pickle
import stat
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rsdeploy_tui import __version__, locations
from rsdeploy_tui.checklist.model import Checklist

FORMAT = 1
"""Bumped when what is stored changes shape in a way the code stamp would not notice."""
PRUNE_AFTER_S = 30 * 24 * 3600
_PACKAGE = Path(__file__).resolve().parents[1]
_CODE_DIRS = (_PACKAGE / "checklist", _PACKAGE / "checks")



def _read_only(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)


# The model's mappings are read-only views, which pickle cannot store by itself.
copyreg.pickle(MappingProxyType, lambda view: (_read_only, (dict(view),)))


def cache_dir() -> Path:
    """Where parsed checklists are kept."""
    return locations.cache_dir() / "checklists"


def _code_stamp() -> str:
    """Size and mtime of every module that shapes a loaded checklist."""
    parts = [__version__, str(FORMAT)]
    for folder in _CODE_DIRS:
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.endswith(".py"):
                    stat = entry.stat()
                    parts.append(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts)


def _entry(path: Path, digest: str) -> Path:
    """The entry of the file at ``path`` whose bytes hash to ``digest``, with this code."""
    key = hashlib.sha256()
    key.update(_code_stamp().encode())
    key.update(str(path).encode("utf-8", "surrogateescape") + b"\0")
    key.update(digest.encode())
    return cache_dir() / f"{key.hexdigest()}.pickle"


def load_checklist_cached(path: Path | str | None = None) -> Checklist:
    """``load_checklist`` through the cache (same result, same errors).

    Raises:
        ChecklistError: the file breaks the checklist format (never cached).
        RsdeployError: the file cannot be read or is not YAML.
    """
    source = Path(path) if path is not None else locations.bundled_checklist()
    data = _read_regular(source)
    if data is None:
        return _load(source)  # its message names the file and the reason
    digest = hashlib.sha256(data).hexdigest()
    entry = _entry(source, digest)
    with contextlib.suppress(Exception):  # a damaged or foreign entry: load afresh
        with open(entry, "rb") as fh:
            cached = pickle.load(fh)
        if isinstance(cached, Checklist) and cached.sha256 == digest and cached.path == source:
            os.utime(entry)  # in use: not pruned
            return cached
    checklist = _load(source)
    # the file did not change while it was read twice; a checklist whose var defaults hold a
    # secret (a DSN with its password, a token) is not copied into the cache
    if checklist.sha256 == digest and not _holds_secret(checklist):
        _store(entry, checklist)
    return checklist


def _read_regular(path: Path) -> bytes | None:
    """The file's bytes; None when it is not a small regular file (a FIFO is never waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > 2 * 1024 * 1024:
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _holds_secret(checklist: Checklist) -> bool:
    """Whether a var default would be masked by the session's redaction."""
    from rsdeploy_tui.session.redact import Redactor, secret_var_values

    defaults = dict(checklist.vars)
    return bool(secret_var_values(defaults)) or \
        Redactor(checklist.secrets, environ={}).value(defaults) != defaults


def _load(path: Path) -> Checklist:
    """The real loader, imported only on a miss (with it PyYAML: skipping both is the point)."""
    from rsdeploy_tui.checklist.loader import load_checklist

    return load_checklist(path)


def _store(entry: Path, checklist: Checklist) -> None:
    """Write an entry atomically; any failure only means the next launch parses again."""
    import tempfile  # only when writing: ~3 ms to import

    with contextlib.suppress(OSError, pickle.PicklingError):
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(checklist, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, entry)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        _prune(entry)


def _prune(keep: Path) -> None:
    """Drop entries unused for a month (each release or checklist edit makes a new one)."""
    cutoff = time.time() - PRUNE_AFTER_S
    for old in keep.parent.glob("*.pickle"):
        with contextlib.suppress(OSError):
            if old != keep and old.stat().st_mtime < cutoff:
                old.unlink()
