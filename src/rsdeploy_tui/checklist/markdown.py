"""Markdown checklist -> checklist data (a plain dict) -> YAML a person would happily edit.

Reads GitHub-style Markdown line by line: ``#``/``##`` headings become phases (a lone ``#``
title over ``##`` headings becomes the checklist name instead), deeper headings become sections
(nested ones flattened to "Parent / Child" titles), ``- [ ]``/``* [ ]``/``1. [ ]`` list items at
any depth become items (ticked ``[x]`` ones too), a shell code fence under an item becomes its
``command``, ``**CRITICAL**`` marks it critical, and prose becomes help. Sections and phases
without items are dropped; their prose moves to the help of what follows (or the description).
A ``[ ]`` that does not start a list item is prose, not an item; a task list item inside a block
quote (``> - [ ] ...``) is an item, as GitHub draws it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import field
from typing import Any

from rsdeploy_tui.checklist.yamlwrite import to_yaml
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^( *)(`{3,}|~{3,})[ \t]*([^`\s]*)")
_LIST = re.compile(r"^( *)([-*+]|\d{1,9}[.)])([ \t]+|$)(.*)$")
_QUOTE = re.compile(r"^ {0,3}>")
_QUOTED = re.compile(r"^ {0,3}(?:>[ ]?)+(.*)$")
_CHECKBOX = re.compile(r"^\[([ xX])\](?:[ \t]+(.*))?$")
_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_CRITICAL = re.compile(r"^(\*\*|__)CRITICAL:?(\*\*|__):?[ \t]*", re.IGNORECASE)
# Fences in these languages (or none) under an item are its command; others become its help.
_SHELL = {"", "bash", "sh", "shell", "zsh", "console", "ksh", "fish"}
_ID_MAX = 40

__all__ = ["MarkdownImportError", "import_markdown", "slug", "to_yaml"]


class MarkdownImportError(RsdeployError):
    """The Markdown has nothing that can become a checklist."""


@datarecord
class _Item:
    text: str
    critical: bool
    line: int
    indent: int
    """Column of the list marker: deeper lines belong to the item."""
    content: int
    """Column where the item's text starts (help lines are dedented to it)."""
    commands: list[str] = field(default_factory=list)
    help: list[str] = field(default_factory=list)


@datarecord
class _Section:
    title: str
    line: int
    help: list[str] = field(default_factory=list)
    items: list[_Item] = field(default_factory=list)


@datarecord
class _Phase:
    title: str
    line: int
    help: list[str] = field(default_factory=list)
    sections: list[_Section] = field(default_factory=list)


@datarecord
class _Document:
    title: str | None = None
    first_heading: str | None = None
    intro: list[str] = field(default_factory=list)
    phases: list[_Phase] = field(default_factory=list)


def import_markdown(text: str, *, source: str = "<md>", name: str | None = None) -> dict[str, Any]:
    """Turn a Markdown checklist into checklist data ready for ``to_yaml``.

    Args:
        text: The Markdown.
        source: Where it came from, for error messages.
        name: Checklist name (default: the document title, else "Imported checklist").

    Raises:
        MarkdownImportError: no ``- [ ]`` items at all.
    """
    lines = _atx_headings(text.expandtabs(4).splitlines())
    fenced = _fenced(lines)
    headings = (_HEADING.match(line) for i, line in enumerate(lines) if i not in fenced)
    levels = [len(m.group(1)) for m in headings if m]
    title_level = 1 if levels[:1] == [1] and levels.count(1) == 1 else None
    phase_levels = [lv for lv in levels if lv != title_level]
    phase_level = min(phase_levels) if phase_levels and min(phase_levels) <= 2 else None
    doc = _Parser(title_level, phase_level).parse(lines)
    data = _assemble(doc, name)
    if not any(s["items"] for p in data["phases"] for s in p["sections"]):
        raise MarkdownImportError(
            "Nothing to import",
            f"{source}: no checklist items found; expected list items like '- [ ] Do this'.",
        )
    return data


def _atx_headings(lines: list[str]) -> list[str]:
    """Setext headings (a text line underlined with === or ---) rewritten as ``#``/``##`` lines.

    Only a one-line paragraph after a blank line qualifies, so a list item's continuation line
    followed by ``---`` stays a thematic break. Line count is kept (line numbers stay right).
    """
    result = list(lines)
    inside = _fenced(lines)
    for i in range(1, len(lines)):
        underline, text = _SETEXT.match(lines[i]), lines[i - 1]
        if not underline or i in inside or (i - 1) in inside or not text.strip():
            continue
        if i >= 2 and lines[i - 2].strip() and not _HEADING.match(lines[i - 2]):
            continue
        if (
            _HEADING.match(text)
            or _FENCE.match(text)
            or _LIST.match(text)
            or text.startswith(" " * 4)
        ):
            continue
        marks = "#" if underline.group(1)[0] == "=" else "##"
        result[i - 1], result[i] = f"{marks} {text.strip()}", ""
    return result


def _fenced(lines: list[str]) -> set[int]:
    """Indexes of the lines inside fenced code blocks, the fence lines included."""
    inside: set[int] = set()
    fence: str | None = None
    for index, line in enumerate(lines):
        if fence is None:
            match = _FENCE.match(line)
            if match:
                fence = match.group(2)
                inside.add(index)
            continue
        inside.add(index)
        stripped = line.strip()
        if stripped.startswith(fence) and not stripped.strip(fence[0]):
            fence = None
    return inside


def _unquote_task(line: str) -> str:
    """A task list item inside a block quote (``> - [ ] ...``) without its quote markers: GitHub
    draws those as checkboxes too, so the author means them as items. Other lines as they are."""
    quoted = _QUOTED.match(line)
    if quoted:
        listed = _LIST.match(quoted.group(1))
        if listed and _CHECKBOX.match(listed.group(4).strip()):
            return quoted.group(1)
    return line


class _Parser:
    """One pass over the lines, keeping the current phase, section and item."""

    def __init__(self, title_level: int | None, phase_level: int | None) -> None:
        self.title_level = title_level
        self.phase_level = phase_level
        self.doc = _Document()
        self.phase: _Phase | None = None
        self.section: _Section | None = None
        self.item: _Item | None = None
        self.headings: dict[int, str] = {}
        self.blank_before = False
        self.item_text_open = False

    def parse(self, lines: list[str]) -> _Document:
        i = 0
        while i < len(lines):
            i = self.line(lines, i)
        return self.doc

    def line(self, lines: list[str], i: int) -> int:
        """Handle the block starting at ``lines[i]``; return the index of the next one."""
        line = _unquote_task(lines[i].rstrip())
        indent = len(line) - len(line.lstrip(" "))
        if not line.strip():
            self.blank_before = True
            self.item_text_open = False
            self.prose("")
            return i + 1
        if i == 0 and line == "---" and "---" in lines[1:]:
            return lines.index("---", 1) + 1  # YAML front matter
        heading = _HEADING.match(line)
        fence = _FENCE.match(line)
        listed = _LIST.match(line)
        if heading:
            self.heading(len(heading.group(1)), heading.group(2) or "", i + 1)
        elif _BREAK.match(line):
            self.end_item(indent)
            self.prose("")
        elif fence:
            return self.code(lines, i, fence)
        elif listed:
            self.list_item(line, listed, i + 1)
        elif (self.item is not None and self.item_text_open and not self.blank_before
              and not _QUOTE.match(line)):  # a block quote interrupts the item's paragraph
            self.item.text = f"{self.item.text} {line.strip()}".strip()  # lazy continuation
        elif self.item is not None and indent > self.item.indent:
            self.item.help.append(_dedent(line, self.item.content))
        else:
            self.end_item(-1)
            self.prose(line)
        self.blank_before = False
        return i + 1

    def heading(self, level: int, title: str, line: int) -> None:
        self.end_item(-1)
        title = title.strip() or "Untitled"
        self.doc.first_heading = self.doc.first_heading or title
        if level == self.title_level and self.doc.title is None and not self.doc.phases:
            self.doc.title = title
        elif self.phase_level is not None and level <= self.phase_level:
            self.phase = _Phase(title, line)
            self.doc.phases.append(self.phase)
            self.section = None
            self.headings = {}
        else:
            self.headings = {lv: t for lv, t in self.headings.items() if lv < level}
            self.headings[level] = title
            self.section = _Section(
                " / ".join(self.headings[lv] for lv in sorted(self.headings)), line
            )
            self.ensure_phase(line).sections.append(self.section)

    def ensure_phase(self, line: int) -> _Phase:
        if self.phase is None:
            self.phase = _Phase(self.doc.title or "Checklist", line)
            self.doc.phases.append(self.phase)
        return self.phase

    def ensure_section(self, line: int) -> _Section:
        if self.section is None:
            phase = self.ensure_phase(line)
            self.section = _Section(phase.title, line)
            phase.sections.append(self.section)
        return self.section

    def end_item(self, indent: int) -> None:
        """Close the current item unless a line at ``indent`` is still inside it."""
        if self.item is not None and indent <= self.item.indent:
            self.item = None
            self.item_text_open = False

    def list_item(self, line: str, listed: re.Match[str], number: int) -> None:
        indent = len(listed.group(1))
        box = _CHECKBOX.match(listed.group(4).strip())
        if box is None:
            if self.item is not None and indent > self.item.indent:
                self.item.help.append(_dedent(line, self.item.content))
            else:
                self.end_item(indent)
                self.prose(line)
            self.item_text_open = False
            return
        self.end_item(indent)
        text = (box.group(2) or "").strip()
        critical = bool(_CRITICAL.match(text))
        text = _CRITICAL.sub("", text, count=1).strip()
        content = indent + len(listed.group(2)) + max(1, len(listed.group(3)))
        self.item = _Item(text, critical, number, indent, content)
        self.ensure_section(number).items.append(self.item)
        self.item_text_open = True

    def code(self, lines: list[str], i: int, fence: re.Match[str]) -> int:
        """A fenced block: an item's command (or help), else prose kept with its fences."""
        indent, marker, language = len(fence.group(1)), fence.group(2), fence.group(3).lower()
        end = i + 1
        while end < len(lines):
            stripped = lines[end].strip()
            if stripped.startswith(marker[0] * len(marker)) and not stripped.strip(marker[0]):
                break
            end += 1
        body = [_dedent(raw.rstrip(), indent) for raw in lines[i + 1 : end]]
        under_item = self.item is not None and (
            indent > self.item.indent or (self.item_text_open and not self.blank_before)
        )
        if under_item and self.item is not None:
            if language in _SHELL:
                self.item.commands.append("\n".join(body).strip("\n"))
            else:
                self.item.help.extend([f"{marker}{language}", *body, marker])
        else:
            self.end_item(-1)
            for raw in lines[i : end + 1]:
                self.prose(_dedent(raw.rstrip(), indent))
        self.item_text_open = False
        self.blank_before = False
        return end + 1

    def prose_target(self) -> list[str] | None:
        if self.item is not None:
            return None
        if self.section is not None:
            return self.section.help
        if self.phase is not None:
            return self.phase.help
        return self.doc.intro

    def prose(self, line: str) -> None:
        target = self.prose_target()
        if target is not None:
            target.append(line)
        elif self.item is not None and self.item.help:
            self.item.help.append("")


def _dedent(line: str, indent: int) -> str:
    """Remove up to ``indent`` leading spaces (a fence's own indentation)."""
    strip = min(indent, len(line) - len(line.lstrip(" ")))
    return line[strip:]


def _markdown(lines: list[str]) -> str:
    """Prose lines as tidy Markdown: no leading/trailing or repeated blank lines."""
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip("\n")
    return text


def _literal(text: str) -> str:
    """Imported text is literal: ``${`` becomes the loader's ``$${`` escape."""
    return text.replace("${", "$${")


def slug(text: str, max_length: int = _ID_MAX) -> str:
    """A checklist id from free text: lowercase ASCII words joined by '-', at most ~40 chars."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their words
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", text.lower())
    result = ""
    for word in words:
        candidate = f"{result}-{word}" if result else word
        if len(candidate) > max_length:
            break
        result = candidate
    return result or (words[0][:max_length] if words else "")


class _Ids:
    """Hands out unique ids: ``slug``, then ``slug-2``, ``slug-3``..."""

    def __init__(self, fallback: str) -> None:
        self.used: set[str] = set()
        self.fallback = fallback

    def take(self, text: str) -> str:
        base = slug(text) or self.fallback
        candidate, n = base, 2
        while candidate in self.used:
            candidate, n = f"{base}-{n}", n + 1
        self.used.add(candidate)
        return candidate


def _assemble(doc: _Document, name: str | None) -> dict[str, Any]:
    """The parsed document as checklist data; itemless parts hand their prose forward."""
    carry: list[str] = []
    phase_ids = _Ids("phase")
    item_ids = _Ids("item")
    phases: list[dict[str, Any]] = []
    for phase in doc.phases:
        if not any(section.items for section in phase.sections):
            dropped = [line for s in phase.sections for line in _carried(s.title, s.help)]
            if dropped or _markdown(phase.help):
                carry += [f"**{phase.title}**", "", *phase.help, "", *dropped]
            continue
        out: dict[str, Any] = {"id": phase_ids.take(phase.title), "title": _literal(phase.title)}
        phase_help = _markdown([*carry, *phase.help])
        carry = []
        if phase_help:
            out["help"] = _literal(phase_help)
        section_ids = _Ids("section")
        out["sections"] = sections = []
        for section in phase.sections:
            if not section.items:
                carry += _carried(section.title, section.help)
                continue
            entry: dict[str, Any] = {
                "id": section_ids.take(section.title.split(" / ")[-1]),
                "title": _literal(section.title),
            }
            section_help = _markdown([*carry, *section.help])
            carry = []
            if section_help:
                entry["help"] = _literal(section_help)
            entry["items"] = [_item(item, item_ids) for item in section.items]
            sections.append(entry)
        phases.append(out)
    data: dict[str, Any] = {
        "name": _literal(name or doc.title or doc.first_heading or "Imported checklist")
    }
    description = _markdown([*doc.intro, "", *carry])
    if description:
        data["description"] = _literal(description)
    data["phases"] = phases
    return data


def _carried(title: str, help_lines: list[str]) -> list[str]:
    """A dropped heading's prose, titled, for the help of whatever comes next."""
    body = _markdown(help_lines)
    return [f"**{title}**", "", body, ""] if body else []


def _item(item: _Item, ids: _Ids) -> dict[str, Any]:
    text = item.text or f"Item on line {item.line}"
    out: dict[str, Any] = {"id": ids.take(text), "text": _literal(text)}
    if item.critical:
        out["critical"] = True
    command = "\n\n".join(c for c in item.commands if c.strip())
    if command:
        out["command"] = _literal(command)
    help_text = _markdown(item.help)
    if help_text:
        out["help"] = _literal(help_text)
    return out
