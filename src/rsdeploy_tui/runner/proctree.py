"""Which processes a run started, from /proc (stdlib only: the run wrapper loads it by path).

A run's command may leave its process group (``setsid``, a daemonising tool) or outlive its
shell. The wrapper is a child subreaper, so every orphan of the run is re-parented to it; the
processes a run started are therefore exactly the wrapper's descendants (plus, if the wrapper
itself is gone, what is left of its process group).
"""

from __future__ import annotations

import os

NAME_CAP = 80
"""Longest command line shown for a process (the rest is cut with an ellipsis)."""


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state, ppid, pgrp ...), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    return stat[stat.rfind(")") + 2 :].split()


def _table() -> dict[int, tuple[str, int, int]]:
    """Every live process as pid -> (state, ppid, pgrp)."""
    table: dict[int, tuple[str, int, int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is None or len(fields) < 3:
            continue
        table[int(entry)] = (fields[0], int(fields[1]), int(fields[2]))
    return table


def descendants(root: int, *, pgid: int | None = None, zombies: bool = False) -> list[int]:
    """Processes below ``root`` (children, grandchildren ...), plus members of ``pgid``.

    Zombies (exited, not yet reaped) are left out unless asked for: they cannot be signalled
    and hold nothing. ``root`` itself is never in the list.
    """
    table = _table()
    children: dict[int, list[int]] = {}
    for pid, (_state, ppid, _pgrp) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    if pgid is not None:
        found.update(pid for pid, (_s, _p, pgrp) in table.items() if pgrp == pgid)
    found.discard(root)
    if not zombies:
        found = {pid for pid in found if table.get(pid, ("X",))[0] not in ("Z", "X")}
    return sorted(found)


def describe(pid: int) -> str:
    """``sleep 300 (pid 4242)``: the process's command line, cut to ``NAME_CAP``."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            words = [w.decode("utf-8", "replace") for w in fh.read().split(b"\0") if w]
    except OSError:
        words = []
    text = " ".join(words) or "?"
    if len(text) > NAME_CAP:
        text = text[: NAME_CAP - 1] + "…"
    return f"{text} (pid {pid})"
