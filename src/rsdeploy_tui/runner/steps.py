"""Fail-fast shell runs: the first failing command ends the run, and we can say which it was.

An operator reads a code block (or ``a; b``) as "do these in order, stop at the first failure".
Every shell command the app runs therefore gets ``bash -e -o pipefail`` semantics (``-E`` too, so
a failure inside a function or a subshell is located): ``fail_fast_script`` puts a one-line
prelude before the command, whose ``ERR`` trap remembers the failing command's line and whose
``EXIT`` trap writes them to a side file when the shell exits non-zero. ``read_failure`` turns
that file into "line 1 of 2 failed: git checkout v1.4.0 → exit 1", the line as the operator sees
it (``display``: expanded, secrets masked). The steps of a command are found by ``split_steps``,
a small shell-aware splitter (quotes, ``$(...)``, backticks, heredocs, comments, compound
commands such as ``for ...; do ...; done``): only ``;``, ``&`` and newlines at the top level
separate steps.

Stdlib only, no package imports: the run wrapper (``wrapper.py``, run as a bare script) loads
this file by path.
"""

from __future__ import annotations

import contextlib
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRELUDE = (
    "set -eE -o pipefail; "
    "trap '__rsd_rc=$? __rsd_line=$LINENO __rsd_cmd=$BASH_COMMAND' ERR; "
    "trap '__rsd_x=$?; if [ \"$__rsd_x\" -ne 0 ] && [ -n \"${__rsd_line:-}\" ]; then "
    "printf \"%s\\n%s\\n%s\" \"$__rsd_rc\" \"$__rsd_line\" \"$__rsd_cmd\" > {err} "
    "2>/dev/null || :; fi' EXIT"
)
"""Line 1 of every fail-fast script (so the operator's line N is the shell's line N+1).
``{err}`` is the side file, shell-quoted twice over (it sits inside the single-quoted trap)."""
TEXT_CAP = 200
"""Longest failed-line text kept (a record and a log line, not the whole script)."""

_OPENERS = {"if", "for", "while", "until", "case", "select", "{"}
_CLOSERS = {"fi", "done", "esac", "}"}
# After these words the next word starts a command again (so a keyword there is a keyword).
_LEADING = {"then", "do", "else", "elif", "if", "while", "until", "{", "!", "time"}


@dataclass(frozen=True)
class Step:
    """One top-level command of a shell text, as the operator wrote it."""

    index: int
    """1-based position among the steps."""
    first_line: int
    """1-based line where it starts."""
    last_line: int
    """1-based line where it ends (a heredoc or a compound command spans lines)."""
    text: str
    """Its text, stripped."""


def fail_fast_script(command: str, err_path: Path | str) -> str:
    """``command`` behind the fail-fast prelude; bash writes the failure to ``err_path``."""
    # The path sits inside a single-quoted trap string: quote it for the inner shell, then
    # escape the single quotes of that quoting for the outer one.
    inner = shlex.quote(str(err_path)).replace("'", "'\\''")
    return PRELUDE.replace("{err}", inner) + "\n" + command


def _closing(text: str, i: int, open_: str, close: str) -> int:
    """Index just past the ``close`` that balances the ``open_`` before ``i`` (quotes skipped)."""
    depth = 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'" and open_ != "`":
            end = text.find("'", i + 1)
            i = n if end == -1 else end + 1
            continue
        if c == '"' and open_ != "`":
            i = _skip_double(text, i + 1)
            continue
        if c == "`" and open_ != "`":
            i = _closing(text, i + 1, "`", "`")
            continue
        if c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        elif c == open_ and open_ != close:
            depth += 1
        i += 1
    return n


def _skip_double(text: str, i: int) -> int:
    """Index just past the ``"`` closing a double-quoted string that starts before ``i``."""
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        elif text.startswith("$(", i):
            i = _closing(text, i + 2, "(", ")")
        elif c == "`":
            i = _closing(text, i + 1, "`", "`")
        else:
            i += 1
    return n


def split_steps(command: str) -> list[Step]:
    """The top-level commands of a shell text, in order (blank lines and comments dropped).

    ``;``, ``&`` and newlines separate steps only outside quotes, substitutions, heredocs and
    compound commands; ``&&``, ``||``, ``|`` and a trailing backslash join lines into one step.
    """
    steps: list[Step] = []
    n = len(command)
    i = 0
    line = 1
    start, start_line = 0, 1
    stack: list[str] = []
    heredocs: list[tuple[str, bool]] = []  # (delimiter, strip tabs) waiting for the next newline
    word = ""
    command_start = True
    joined = False  # the last operator (&&, ||, |) continues on the next line

    def end_word() -> None:
        nonlocal word, command_start
        if not word:
            return
        if command_start and word in _OPENERS:
            stack.append(word)
        elif command_start and word in _CLOSERS and stack:
            stack.pop()
        command_start = word in _LEADING or (stack[-1:] == ["case"] and word == "in")
        word = ""

    def cut(end: int, end_line: int) -> None:
        nonlocal start, start_line
        text = command[start:end].strip()
        if text and not text.startswith("#"):
            steps.append(Step(len(steps) + 1, start_line, end_line, text))
        start = end + 1
        start_line = end_line + 1 if command[end : end + 1] == "\n" else end_line

    while i < n:
        c = command[i]
        if c == "\\":
            if command.startswith("\n", i + 1):
                line += 1
            word += command[i : i + 2]
            i += 2
            continue
        if c == "'":
            end = command.find("'", i + 1)
            end = n if end == -1 else end + 1
            line += command.count("\n", i, end)
            word += command[i:end]
            i = end
            continue
        if c == '"':
            end = _skip_double(command, i + 1)
            line += command.count("\n", i, end)
            word += command[i:end]
            i = end
            continue
        if c == "`" or command.startswith("$(", i) or command.startswith("${", i):
            if c == "`":
                end = _closing(command, i + 1, "`", "`")
            elif command[i + 1] == "(":
                end = _closing(command, i + 2, "(", ")")
            else:
                end = _closing(command, i + 2, "{", "}")
            line += command.count("\n", i, end)
            word += command[i:end]
            i = end
            continue
        if c == "#" and not word:
            end = command.find("\n", i)
            i = n if end == -1 else end
            continue
        if command.startswith("<<", i) and not command.startswith("<<<", i):
            end_word()
            j = i + 2
            strip = command.startswith("-", j)
            j += 1 if strip else 0
            while j < n and command[j] in " \t":
                j += 1
            k = j
            while k < n and command[k] not in " \t\n;&|<>()":
                k += 1
            heredocs.append((command[j:k].replace("'", "").replace('"', "").replace("\\", ""),
                             strip))
            i = k
            command_start = False
            continue
        if c == "\n":
            end_word()
            if heredocs:
                # The heredoc bodies follow this line: they belong to the current step. Stand
                # on the newline that ends the last delimiter line, and go on from there.
                j = i + 1
                for delimiter, strip in heredocs:
                    while j <= n:
                        end = command.find("\n", j)
                        end = n if end == -1 else end
                        body = command[j:end]
                        line += 1
                        i, j = end, end + 1
                        if (body.lstrip("\t") if strip else body) == delimiter or end >= n:
                            break
                heredocs = []
                if i >= n:
                    break
            if not stack and not joined:
                cut(i, line)
            joined = False
            line += 1
            i += 1
            command_start = True
            continue
        if c in " \t":
            end_word()
            i += 1
            continue
        if c in ";&|()":
            end_word()
            two = command[i : i + 2]
            joined = False
            if two in ("&&", "||", "|&"):
                joined = True
                i += 2
                command_start = True
                continue
            if c == "|":
                joined = True
                i += 1
                command_start = True
                continue
            if two == ";;" or command.startswith(";&", i):
                i += 3 if command.startswith(";;&", i) else 2
                command_start = True
                continue
            if c == "&" and (command[i + 1 : i + 2] == ">" or command[i - 1 : i] in "<>"):
                i += 1  # &> file, 2>&1: a redirection
                continue
            if c == "(":
                stack.append("(")
                i += 1
                command_start = True
                continue
            if c == ")":
                if stack and stack[-1] == "(":
                    stack.pop()  # else a case pattern's ")"
                i += 1
                command_start = True  # f() { ...; }: a compound command follows
                continue
            # ; or & at some depth
            if not stack:
                cut(i, line)
            i += 1
            command_start = True
            continue
        if c in "<>":
            end_word()
            i += 1
            command_start = False
            continue
        joined = False
        word += c
        i += 1
    end_word()
    text = command[start:].strip()
    if text and not text.startswith("#"):
        steps.append(Step(len(steps) + 1, start_line, max(start_line, line), text))
    return steps


def _one_line(text: str) -> str:
    first, _, rest = text.partition("\n")
    first = first.strip()
    if rest.strip():
        first += " …"
    if len(first) > TEXT_CAP:
        first = first[: TEXT_CAP - 1] + "…"
    return first


def locate(command: str, line: int, bash_command: str = "") -> Step | None:
    """The step of ``command`` that holds ``line`` (1-based); several on that line: the one that
    names ``bash_command``'s program, else the first."""
    steps = split_steps(command)
    on_line = [s for s in steps if s.first_line <= line <= s.last_line]
    if not on_line:
        before = [s for s in steps if s.first_line <= line]
        return before[-1] if before else (steps[0] if steps else None)
    program = bash_command.split()[0] if bash_command.split() else ""
    for step in on_line:
        if program and program in step.text:
            return step
    return on_line[0]


def read_failure(err_path: Path, command: str, display: str | None,
                 exit_code: int | None) -> dict[str, Any] | None:
    """The failing step recorded by the prelude, as ``{step, of, line, text, exit_code}``.

    ``command`` is the shell text that ran, ``display`` the same as the operator sees it
    (secrets masked); the text comes from ``display`` when both split into as many steps.
    None when the run did not fail, or failed in a way the trap did not see (``exit 3``, a
    signal): then only the exit code is known. Removes the side file.
    """
    try:
        raw = err_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    finally:
        with contextlib.suppress(OSError):
            err_path.unlink()
    if exit_code in (0, None):
        return None
    parts = raw.split("\n", 2)
    try:
        status, shell_line = int(parts[0]), int(parts[1]) - 1
    except (ValueError, IndexError):
        return None
    if status != exit_code:
        return None  # the trap saw an earlier, tolerated failure; the shell ended otherwise
    bash_command = parts[2] if len(parts) > 2 else ""
    step = locate(command, shell_line, bash_command)
    if step is None:
        return None
    steps = split_steps(command)
    text = step.text
    if display is not None and display != command:
        shown = split_steps(display)
        text = shown[step.index - 1].text if len(shown) == len(steps) else text
    return {"step": step.index, "of": len(steps), "line": shell_line,
            "text": _one_line(text), "exit_code": exit_code}


def describe_failure(failed: Any) -> str:
    """``line 1 of 2 failed: git checkout v1.4.0 → exit 1`` from a ``failed`` record."""
    if not isinstance(failed, dict):
        return ""
    return (f"line {failed.get('step')} of {failed.get('of')} failed: {failed.get('text', '')} "
            f"→ exit {failed.get('exit_code')}")
