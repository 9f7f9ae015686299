"""The checklist as immutable data: phases -> sections -> items, plus vars, secrets and templates.

Nothing here knows about Textual, sessions or files; the loader builds these from YAML.
Item ids are unique within a checklist file; other layers refer to an item by its qualified id
``<phase id>.<item id>`` (``Item.qid``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rsdeploy_tui.records import datarecord

ROLLBACK_PHASE = "rollback"
"""Id of the phase a rollback works through (``rollback.py`` builds its plan from it)."""


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@datarecord(frozen=True)
class Check:
    """An automated verification attached to an item (``check:`` in YAML)."""

    type: str
    """Registered check type name, e.g. ``http`` or ``s3_object``."""
    params: Mapping[str, Any] = field(default_factory=_empty)
    """Every other key of the ``check:`` mapping, unexpanded (``${var}`` left in place)."""
    line: int = 0
    """Line of the ``check:`` key in the checklist file (0 when unknown)."""


@datarecord(frozen=True)
class Action:
    """A built-in action run instead of a shell command (``action:`` in YAML)."""

    type: str
    """Action name, e.g. ``db_backup`` or ``capture_version``."""
    params: Mapping[str, Any] = field(default_factory=_empty)
    """Every other key of the ``action:`` mapping, unexpanded."""
    line: int = 0
    """Line of the ``action:`` key in the checklist file."""


@datarecord(frozen=True)
class Item:
    """One thing the operator does or verifies."""

    id: str
    """Local id, unique in the file (``db-backup``)."""
    phase_id: str
    """Id of the phase holding this item."""
    section_id: str
    """Id of the section holding this item."""
    text: str
    """The line as the operator reads it (Markdown inline allowed, ``${var}`` allowed)."""
    critical: bool = False
    """Shown as CRITICAL; unticking asks first; gates usually name critical items."""
    help: str = ""
    """Longer Markdown shown in the detail panel."""
    command: str | None = None
    """Shell command runnable from the app (``${var}`` expanded at run time)."""
    confirm: str | None = None
    """Text the operator must type before the command or action runs (destructive steps)."""
    interactive: bool = False
    """The command needs a terminal (``eb ssh``, an editor): run with the app suspended."""
    tick_on_success: bool = False
    """Exit status 0 of the command (or action) ticks the item."""
    continue_on_error: bool = False
    """Run every line of the command even after one fails (the last line's exit decides).
    By default a command stops at its first failing line or ``;``-separated command."""
    check: Check | None = None
    """Automated verification, if the item has one."""
    auto_tick: bool = False
    """A passing check ticks the item without asking."""
    action: Action | None = None
    """Built-in action run instead of ``command``."""
    requires: tuple[str, ...] = ()
    """Qualified ids of items that must be done before this one can be ticked."""
    rollback_trigger: str | None = None
    """Id of a rollback trigger raised when this item's check fails."""
    line: int = 0
    """Line where the item starts in the checklist file."""

    @property
    def qid(self) -> str:
        """Qualified id, ``<phase>.<item>``: how sessions, gates and the CLI name an item."""
        return f"{self.phase_id}.{self.id}"


PLAIN_SECTION = "items"
"""Id of the one untitled section of a phase that lists ``items:`` without sections."""


@datarecord(frozen=True)
class Section:
    """A titled group of items inside a phase."""

    id: str
    """Section id, unique within its phase."""
    title: str
    """Heading shown above the items."""
    items: tuple[Item, ...] = ()
    """Items in checklist order."""
    help: str = ""
    """Prose shown with the section (Markdown)."""
    line: int = 0
    """Line of the section in the checklist file."""


@datarecord(frozen=True)
class Phase:
    """One tab of the runbook: Pre-Deployment, Deployment, ..."""

    id: str
    """Phase id, unique in the file (``pre``)."""
    title: str
    """Full title (detail panel, reports, dialogs)."""
    sections: tuple[Section, ...] = ()
    """Sections in checklist order."""
    gate: tuple[str, ...] = ()
    """Qualified ids of items that must be done before any item of this phase can be ticked."""
    help: str = ""
    """Prose shown at the top of the phase (Markdown)."""
    line: int = 0
    """Line of the phase in the checklist file."""
    tab: str = ""
    """Short title for its tab (``Verify``); empty: the tab shows ``title``."""

    @property
    def tab_title(self) -> str:
        """What the phase's tab reads: the short title when the checklist gives one."""
        return self.tab or self.title

    @property
    def items(self) -> tuple[Item, ...]:
        """All items of the phase, section by section."""
        return tuple(item for section in self.sections for item in section.items)


@datarecord(frozen=True)
class Template:
    """A message or document template (stakeholder messages, the deployment log)."""

    id: str
    """Template id (``pre_deployment``, ``post_deployment``, ``rollback``, ``deployment_log``)."""
    title: str
    """What the template is for, as shown in the Communication tab."""
    body: str
    """Text with ``[placeholders]`` and ``${vars}`` filled in by the reports layer."""
    subject: str = ""
    """E-mail subject line, when the template is a message."""
    line: int = 0
    """Line of the template in the checklist file."""


@datarecord(frozen=True)
class Criterion:
    """A rollback trigger or a success criterion: a sentence, optionally tied to items."""

    id: str
    """Stable id (items refer to rollback triggers by it)."""
    text: str
    """The sentence from the checklist."""
    items: tuple[str, ...] = ()
    """Qualified ids of the items whose states decide whether this criterion holds."""
    line: int = 0
    """Line in the checklist file."""


@datarecord(frozen=True)
class Checklist:
    """A whole checklist file, loaded and validated."""

    name: str
    """Human name (``RS Systems production deployment``)."""
    phases: tuple[Phase, ...]
    """Phases in order: one tab each."""
    vars: Mapping[str, str] = field(default_factory=_empty)
    """Variable defaults as written (may reference other vars); see ``checklist.vars``."""
    secrets: tuple[str, ...] = ()
    """Environment variable names whose values must never be stored or shown."""
    templates: Mapping[str, Template] = field(default_factory=_empty)
    """Templates by id."""
    rollback_triggers: tuple[Criterion, ...] = ()
    """The "When to Rollback" list."""
    success_criteria: tuple[Criterion, ...] = ()
    """The "Deployment is considered successful when" list."""
    description: str = ""
    """Prose about the checklist."""
    path: Path | None = None
    """File the checklist was loaded from."""
    sha256: str = ""
    """Hex digest of the file's bytes: sessions notice a changed checklist by it."""
    _index: Mapping[str, Item] = field(default_factory=_empty, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {item.qid: item for phase in self.phases for item in phase.items}
        object.__setattr__(self, "_index", MappingProxyType(index))

    @property
    def items(self) -> tuple[Item, ...]:
        """Every item in checklist order."""
        return tuple(self._index.values())

    def iter_items(self) -> Iterator[Item]:
        """Every item in checklist order, without building a tuple."""
        return iter(self._index.values())

    def item(self, ref: str) -> Item:
        """The item named by a qualified id (``pre.db-backup``) or a bare, unique item id.

        Raises:
            KeyError: no such item.
        """
        found = self.find_item(ref)
        if found is None:
            raise KeyError(ref)
        return found

    def find_item(self, ref: str) -> Item | None:
        """Like ``item`` but returns None when nothing matches."""
        if ref in self._index:
            return self._index[ref]
        for item in self._index.values():
            if item.id == ref:
                return item
        return None

    def phase(self, phase_id: str) -> Phase:
        """The phase with that id (KeyError when absent)."""
        for phase in self.phases:
            if phase.id == phase_id:
                return phase
        raise KeyError(phase_id)

    def phase_of(self, item: Item) -> Phase:
        """The phase holding ``item``."""
        return self.phase(item.phase_id)

    def trigger(self, trigger_id: str) -> Criterion | None:
        """The rollback trigger with that id, if any."""
        return next((t for t in self.rollback_triggers if t.id == trigger_id), None)
