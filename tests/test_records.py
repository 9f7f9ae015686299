"""``@datarecord`` behaves like ``@dataclass`` for everything the code relies on."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest

from rsdeploy_tui.records import datarecord


@datarecord(frozen=True)
class Frozen:
    name: str
    count: int = 0
    cache: dict[str, int] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class FrozenTwin:
    name: str
    count: int = 0
    cache: dict[str, int] = field(default_factory=dict, repr=False, compare=False)


@datarecord
class Mutable:
    items: list[int] = field(default_factory=list)


@datarecord(frozen=True, slots=True)
class Slotted:
    kind: str


def test_repr_equality_and_hash_match_a_dataclass() -> None:
    ours, twin = Frozen("a", 2, {"x": 1}), FrozenTwin("a", 2, {"x": 1})
    assert repr(ours) == repr(twin).replace("FrozenTwin", "Frozen") == "Frozen(name='a', count=2)"
    assert ours == Frozen("a", 2, {"other": 9})  # compare=False field ignored
    assert ours != Frozen("a", 3)
    assert ours != twin  # another class is never equal, even with the same fields
    assert hash(ours) == hash(Frozen("a", 2)) == hash(twin)
    assert len({ours, Frozen("a", 2), Frozen("b")}) == 2


def test_frozen_records_refuse_changes_and_mutable_ones_are_unhashable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Frozen("a").name = "b"  # type: ignore[misc]
    with pytest.raises(TypeError, match="unhashable"):
        hash(Mutable())
    box = Mutable()
    box.items.append(1)
    assert box == Mutable([1]) and box != Mutable()


def test_dataclass_tools_slots_and_pickle_still_work() -> None:
    ours = Frozen("a", 2)
    assert dataclasses.replace(ours, count=5) == Frozen("a", 5)
    assert [f.name for f in dataclasses.fields(ours)] == ["name", "count", "cache"]
    assert pickle.loads(pickle.dumps(ours)) == ours
    assert not hasattr(Slotted("x"), "__dict__")
    assert Slotted("x") == Slotted("x") and repr(Slotted("x")) == "Slotted(kind='x')"


def test_a_method_the_class_writes_itself_is_kept() -> None:
    @datarecord(frozen=True)
    class Shown:
        value: str

        def __repr__(self) -> str:
            return f"<{self.value}>"

    assert repr(Shown("v")) == "<v>"
