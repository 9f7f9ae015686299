"""``@datarecord``: dataclasses that share one ``__repr__``, ``__eq__`` and ``__hash__``.

On Python 3.11 ``@dataclass`` compiles every method it writes from source text when the class
is defined, ~0.1 ms each. The records loaded at start-up (checklist model, session, UI) cost
~19 ms that way, a quarter of rsdeploy-tui's own share of the first frame (bench/startup.py).
``datarecord`` lets dataclass write only what differs per class (``__init__``, and the guards of a
frozen one) and gives every record the same repr, equality and hash, which behave like the
generated ones: fields in order, ``repr=False`` / ``compare=False`` / ``hash=`` honoured,
equal only to the same class, unhashable unless frozen.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")

_NAMES: dict[tuple[type, str], tuple[str, ...]] = {}


def _names(cls: type, use: str) -> tuple[str, ...]:
    """The fields of ``cls`` shown (``repr``), compared (``compare``) or hashed (``hash``)."""
    key = (cls, use)
    names = _NAMES.get(key)
    if names is None:
        chosen = []
        for f in dataclasses.fields(cls):
            wanted = f.compare if use == "hash" and f.hash is None else getattr(f, use)
            if wanted:
                chosen.append(f.name)
        names = _NAMES[key] = tuple(chosen)
    return names


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _names(type(self), "repr"))
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: Any) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented
    names = _names(type(self), "compare")
    return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)


def _hash(self: Any) -> int:
    return hash(tuple(getattr(self, name) for name in _names(type(self), "hash")))


@overload
def datarecord(cls: type[T], /) -> type[T]: ...
@overload
def datarecord(*, frozen: bool = False, slots: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def datarecord(
    cls: type[T] | None = None, /, *, frozen: bool = False, slots: bool = False
) -> type[T] | Callable[[type[T]], type[T]]:
    """Like ``@dataclass`` / ``@dataclass(frozen=True)``, cheaper to define (see above)."""

    def wrap(cls: type[T]) -> type[T]:
        own = {name for name in ("__repr__", "__eq__", "__hash__") if name in cls.__dict__}
        made = dataclasses.dataclass(cls, frozen=frozen, slots=slots, repr=False, eq=False)
        if "__repr__" not in own:
            made.__repr__ = _repr  # type: ignore[assignment,method-assign]
        if "__eq__" not in own:
            made.__eq__ = _eq  # type: ignore[assignment,method-assign]
        if "__hash__" not in own:
            # As dataclass does: a frozen record hashes its fields, a mutable one is unhashable.
            made.__hash__ = _hash if frozen else None  # type: ignore[assignment,method-assign]
        return made

    return wrap if cls is None else wrap(cls)
