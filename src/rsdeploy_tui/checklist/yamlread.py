"""Reading YAML safely while keeping line numbers, so every error can say where it is.

Mappings come back as ``LineDict`` and sequences as ``LineList`` (``checklist/lines.py``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from rsdeploy_tui.checklist.lines import LineDict, LineList
from rsdeploy_tui.errors import RsdeployError

# A checklist is a few hundred KiB at most; refusing huge files keeps a mistyped path (a database
# dump, a log) from eating memory and time before the operator learns the mistake.
MAX_BYTES = 2 * 1024 * 1024


# libyaml's parser when PyYAML was built with it (3-4x faster: it counts at start-up); the
# constructors stay the safe ones either way.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# Aliases repeat what an anchor holds. A checklist uses a few (shared params, a repeated
# gate); an "alias bomb" nests them so that 700 bytes stand for billions of values, which the
# loader then walks and copies until memory runs out. Values added by aliases beyond what is
# written are counted on the composed node graph before anything is built.
ALIAS_NODE_BUDGET = 10_000
"""Most values (mappings, lists, scalars) aliases may add to a document."""
ALIAS_CHAR_BUDGET = 1_048_576
"""Most characters of scalar text aliases may add to a document."""


class AliasBomb(ValueError):
    """Aliases would expand the document beyond the budget (``line`` names the anchor)."""

    def __init__(self, line: int, nodes: int, chars: int) -> None:
        super().__init__(f"{nodes} values, {chars} characters")
        self.line, self.nodes, self.chars = line, nodes, chars


def check_alias_budget(root: yaml.Node) -> None:
    """Raise ``AliasBomb`` when aliases make ``root`` stand for far more than is written.

    Linear in the number of distinct nodes: each node's expanded size is computed once.
    """
    expanded: dict[int, tuple[int, int]] = {}
    references: dict[int, int] = {}
    nodes_by_id: dict[int, yaml.Node] = {}
    in_progress: set[int] = set()

    def size(node: yaml.Node) -> tuple[int, int]:
        key = id(node)
        references[key] = references.get(key, 0) + 1
        if key in expanded:
            return expanded[key]
        if key in in_progress:  # an alias inside its own anchor: endless when expanded
            raise AliasBomb(node.start_mark.line + 1, -1, -1)
        in_progress.add(key)
        nodes_by_id[key] = node
        if isinstance(node, yaml.ScalarNode):
            total = (1, len(node.value))
        else:
            children = (node.value if isinstance(node, yaml.SequenceNode)
                        else [part for pair in node.value for part in pair])
            count, chars = 1, 0
            for child in children:
                child_count, child_chars = size(child)
                count, chars = count + child_count, chars + child_chars
            total = (count, chars)
        in_progress.discard(key)
        expanded[key] = total
        return total

    nodes, chars = size(root)
    written_nodes = len(expanded)
    written_chars = sum(len(n.value) for n in nodes_by_id.values()
                        if isinstance(n, yaml.ScalarNode))
    if nodes - written_nodes > ALIAS_NODE_BUDGET or chars - written_chars > ALIAS_CHAR_BUDGET:
        # name the anchor whose repetition adds the most
        worst = max((k for k, n in references.items() if n > 1),
                    key=lambda k: (references[k] - 1) * expanded[k][0])
        raise AliasBomb(nodes_by_id[worst].start_mark.line + 1, nodes, chars)


class _LineLoader(_SafeBase):  # type: ignore[misc, valid-type]
    """SafeLoader that builds LineDict/LineList (no arbitrary objects, ever)."""

    def construct_document(self, node: yaml.Node) -> Any:
        check_alias_budget(node)  # before a single value is built
        return super().construct_document(node)


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    result.duplicate_keys = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        line = key_node.start_mark.line + 1
        if key in result:
            result.duplicate_keys.append((key, line))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class YamlFileError(RsdeployError):
    """A file that could not be read as YAML at all."""


def read_bytes(path: Path, what: str = "checklist") -> bytes:
    """The bytes of a small regular file, with an operator-readable error for every way it can go
    wrong. A FIFO or device at the path is refused without waiting on it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise YamlFileError(f"No such {what} file", f"{path} does not exist.") from None
    except IsADirectoryError:
        raise YamlFileError(f"Not a {what} file",
                            f"{path} is a directory; expected a YAML file.") from None
    except OSError as error:
        raise YamlFileError(f"Cannot read {what} file", f"{path}: {error.strerror}.") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise YamlFileError(f"Not a {what} file",
                                f"{path} is a directory; expected a YAML file.")
        if not stat.S_ISREG(info.st_mode):
            raise YamlFileError(f"Not a {what} file",
                                f"{path} is not a regular file (a FIFO, device or socket); "
                                "expected a YAML file. Nothing was read from it.")
        if info.st_size > MAX_BYTES:
            raise YamlFileError(
                f"{what.capitalize()} file too large",
                f"{path} is {info.st_size / 1_048_576:.1f} MB; a {what} is expected to be under "
                f"{MAX_BYTES // 1_048_576} MB. Is this the right file?",
            )
        chunks = []
        size = 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BYTES:  # grew while being read
                raise YamlFileError(f"{what.capitalize()} file too large",
                                    f"{path} is over {MAX_BYTES // 1_048_576} MB; a {what} is "
                                    "expected to be smaller. Is this the right file?")
        data = b"".join(chunks)
    except OSError as error:
        raise YamlFileError(f"Cannot read {what} file", f"{path}: {error.strerror}.") from None
    finally:
        os.close(fd)
    if b"\x00" in data:
        raise YamlFileError(
            f"Not a {what} file", f"{path} contains binary data (NUL bytes); expected YAML text."
        )
    return data


def decode(data: bytes, path: Path, what: str = "checklist") -> str:
    """UTF-8 text of ``data`` read from ``path`` (a located error when it is not UTF-8)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise YamlFileError(
            f"Not a {what} file",
            f"{path}, line {line}: the file is not UTF-8 text; expected YAML.",
        ) from None


def read_text(path: Path, what: str = "checklist") -> str:
    """Read a small text file, with an operator-readable error for every way it can go wrong."""
    return decode(read_bytes(path, what), path, what)


def load_yaml(path: Path, what: str = "checklist") -> Any:
    """Parse ``path`` with the safe loader; mappings and lists carry line numbers."""
    return parse_yaml(read_text(path, what), path, what)


def parse_yaml(text: str, path: Path, what: str = "checklist") -> Any:
    """Parse ``text`` (read from ``path``, which errors name) like ``load_yaml``."""
    if not text.strip():
        raise YamlFileError(f"Empty {what} file", f"{path} is empty; expected a YAML mapping.")
    try:
        return yaml.load(text, Loader=_LineLoader)  # _LineLoader is a SafeLoader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = error.problem or error.context or "invalid YAML"
        raise YamlFileError(
            "Invalid YAML", f"{path}{where}: {problem}. Fix the YAML syntax there."
        ) from None
    except yaml.YAMLError as error:
        raise YamlFileError("Invalid YAML", f"{path}: {error}.") from None
    except AliasBomb as bomb:
        if bomb.nodes < 0:
            detail = "an alias there is used inside its own anchor, so it never ends"
        else:
            detail = (f"aliases of the anchor there make the file stand for {bomb.nodes:,} "
                      f"values and {bomb.chars:,} characters, more than "
                      f"{ALIAS_NODE_BUDGET:,} values or {ALIAS_CHAR_BUDGET // 1024:,} KiB "
                      "beyond what is written (an alias bomb?)")
        raise YamlFileError(
            "YAML aliases expand too far",
            f"{path}, line {bomb.line}: {detail}. Nothing was loaded; write the values out or "
            "use fewer nested aliases.") from None
    except RecursionError:
        raise YamlFileError("Invalid YAML", f"{path}: nesting is too deep.") from None
