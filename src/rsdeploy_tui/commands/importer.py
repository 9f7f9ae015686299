"""``rsdeploy-tui import FILE.md [-o OUT.yaml] [--name NAME]``: Markdown -> checklist YAML.

The YAML is validated with the checklist loader before it is written, so what lands on disk (or
stdout) always loads.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rsdeploy_tui.errors import RsdeployError

if TYPE_CHECKING:
    from rsdeploy_tui.checklist import Checklist

# A Markdown checklist is a few tens of KiB; anything far larger is a mistyped path.
MAX_BYTES = 2 * 1024 * 1024


def read_markdown(path: Path) -> str:
    """The Markdown text of ``path``, or an ``RsdeployError`` naming the file and the problem."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise RsdeployError("No such Markdown file", f"{path} does not exist.") from None
    except IsADirectoryError:
        raise RsdeployError("Not a Markdown file",
                            f"{path} is a directory; expected a .md file.") from None
    except OSError as error:
        raise RsdeployError("Cannot read Markdown file", f"{path}: {error.strerror}.") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise RsdeployError("Not a Markdown file",
                                f"{path} is a directory; expected a .md file.")
        if not stat.S_ISREG(info.st_mode):
            # a FIFO or device: reading it would wait forever
            raise RsdeployError("Not a Markdown file", f"{path} is not a regular file (a FIFO, "
                                "device or socket); expected a .md file.")
        if info.st_size > MAX_BYTES:
            raise RsdeployError(
                "Markdown file too large",
                f"{path} is {info.st_size / 1_048_576:.1f} MiB; a checklist is at most "
                f"{MAX_BYTES // 1_048_576} MiB. Is this the right file?",
            )
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        data = b"".join(chunks)
    except OSError as error:
        raise RsdeployError("Cannot read Markdown file", f"{path}: {error.strerror}.") from None
    finally:
        os.close(fd)
    if b"\x00" in data:
        raise RsdeployError("Not a Markdown file", f"{path} is binary data, not Markdown text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RsdeployError(
            "Not a Markdown file",
            f"{path} is not UTF-8 text (byte {error.start}); save it as UTF-8 and try again.",
        ) from None
    if not text.strip():
        raise RsdeployError("Empty Markdown file", f"{path} is empty; expected '- [ ]' items.")
    return text


def convert(path: Path, name: str | None = None) -> tuple[str, Checklist]:
    """The checklist YAML for the Markdown file at ``path`` and the checklist it loads as."""
    from rsdeploy_tui.checklist.markdown import import_markdown, to_yaml

    data = import_markdown(read_markdown(path), source=str(path), name=name)
    text = f"# Imported from {path.name} by rsdeploy-tui import; edit freely.\n" + to_yaml(data)
    return text, _validate(text, path)


def _validate(text: str, source: Path) -> Checklist:
    """Load the YAML with the checklist loader; a failure here is an importer bug, said plainly.

    The YAML is checked in memory (no temporary file), so every message names the operator's
    Markdown file, never a path they did not make.
    """
    from rsdeploy_tui.checklist import ChecklistError
    from rsdeploy_tui.checklist.loader import parse_checklist
    from rsdeploy_tui.checklist.yamlread import MAX_BYTES as MAX_CHECKLIST_BYTES

    data = text.encode("utf-8")
    if len(data) > MAX_CHECKLIST_BYTES:
        raise RsdeployError(
            "Import too large",
            f"{source}: the checklist YAML made from it would be {len(data) / 1_048_576:.1f} "
            f"MiB, more than the {MAX_CHECKLIST_BYTES // 1_048_576} MiB a checklist may be, so "
            "it could never be loaded (nothing was written). Split the Markdown into smaller "
            "checklists.")
    try:
        return parse_checklist(data, Path(f"{source} (as YAML)"))
    except ChecklistError as error:
        listing = "\n".join(f"  line {p.line}: {p.field}: {p.message}" for p in error.problems)
        raise RsdeployError(
            "Import produced an invalid checklist",
            f"{source}: the YAML made from it does not validate (nothing was written):\n"
            f"{listing}",
        ) from None
    except RsdeployError as error:
        raise RsdeployError(error.title, f"{source}: the YAML made from it cannot be read "
                            f"(nothing was written): {error.message}") from None


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (temp file + replace)."""
    if path.is_dir():
        raise RsdeployError("Cannot write checklist", f"{path} is a directory; expected a file.")
    if not path.parent.is_dir():
        raise RsdeployError("Cannot write checklist", f"{path.parent} does not exist.")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise RsdeployError("Cannot write checklist", f"{path}: {error.strerror}.") from None


def run(args: argparse.Namespace) -> int:
    """Convert ``args.file``; write to ``args.output`` or stdout. Exit 0, or raise on bad input."""
    source = Path(args.file)
    text, checklist = convert(source, getattr(args, "name", None))
    if args.output:
        out = Path(args.output)
        if out.exists() and source.exists() and out.resolve() == source.resolve():
            raise RsdeployError(
                "Refusing to overwrite the Markdown", f"{out} is the input file; pick another -o."
            )
        _write(out, text)
        items = checklist.items
        print(
            f"rsdeploy-tui: wrote {out}: {len(checklist.phases)} phases, {len(items)} items "
            f"({sum(i.critical for i in items)} critical, "
            f"{sum(i.command is not None for i in items)} with a command)",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return 0
