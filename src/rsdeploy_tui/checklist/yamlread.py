"""Reading YAML safely while keeping line numbers, so every error can say where it is.

Mappings come back as ``LineDict`` and sequences as ``LineList`` (``checklist/lines.py``).
"""

from __future__ import annotations

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


class _LineLoader(_SafeBase):  # type: ignore[misc, valid-type]
    """SafeLoader that builds LineDict/LineList (no arbitrary objects, ever)."""


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


def read_text(path: Path, what: str = "checklist") -> str:
    """Read a small text file, with an operator-readable error for every way it can go wrong."""
    if not path.exists():
        raise YamlFileError(f"No such {what} file", f"{path} does not exist.")
    if path.is_dir():
        raise YamlFileError(f"Not a {what} file", f"{path} is a directory; expected a YAML file.")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise YamlFileError(
                f"{what.capitalize()} file too large",
                f"{path} is {size / 1_048_576:.1f} MB; a {what} is expected to be under "
                f"{MAX_BYTES // 1_048_576} MB. Is this the right file?",
            )
        data = path.read_bytes()
    except OSError as error:
        raise YamlFileError(f"Cannot read {what} file", f"{path}: {error.strerror}.") from None
    if b"\x00" in data:
        raise YamlFileError(
            f"Not a {what} file", f"{path} contains binary data (NUL bytes); expected YAML text."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise YamlFileError(
            f"Not a {what} file",
            f"{path}, line {line}: the file is not UTF-8 text; expected YAML.",
        ) from None


def load_yaml(path: Path, what: str = "checklist") -> Any:
    """Parse ``path`` with the safe loader; mappings and lists carry line numbers."""
    text = read_text(path, what)
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
    except RecursionError:
        raise YamlFileError("Invalid YAML", f"{path}: nesting is too deep.") from None
