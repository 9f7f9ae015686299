"""Secret values a session remembers as salted digests, so it can mask them without them.

A session keeps these in its journal (``secret_digests`` in ``session_created`` and later events):
a resume in a shell whose environment no longer holds DB_PASSWORD, ``show`` or ``report`` from
another account still mask the value. Never the value itself, never an unsalted hash of it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

from rsdeploy_tui.session.redact import MIN_VALUE_LENGTH, strip_controls

_PRIME = (1 << 61) - 1
"""Modulus of the rolling hash that picks the windows worth a digest (a Mersenne prime)."""


class Remembered:
    """Secret values a session knows only as salted digests (never the value itself).

    Each entry is one form of a value (as printed, without control sequences, URL-encoded): its
    byte length, the keyed BLAKE2b of it under the session's salt, and a 16-bit tag of a
    salted rolling hash. Text is searched by computing the rolling hash of every window of each
    remembered length (cheap arithmetic) and the digest only of windows whose tag matches:
    enough to recognise a value, not to recover it short of guessing.
    """

    def __init__(self, salt: bytes, entries: Iterable[tuple[int, str, int]] = ()) -> None:
        self.salt = salt
        seed = hashlib.blake2b(b"rolling-base", key=salt, digest_size=8).digest()
        self._base = int.from_bytes(seed, "big") % (_PRIME - 512) + 257
        self.by_length: dict[int, dict[bytes, int]] = {}
        for length, digest, tag in entries:
            self.add(int(length), bytes.fromhex(digest), int(tag))

    @classmethod
    def new(cls) -> Remembered:
        """An empty set with a fresh random salt."""
        return cls(os.urandom(16))

    @classmethod
    def from_record(cls, record: Any) -> Remembered | None:
        """From ``record()``'s dict (None when it is missing or not well formed)."""
        if not isinstance(record, Mapping):
            return None
        try:
            salt = bytes.fromhex(str(record["salt"]))
            entries = [(int(length), str(digest), int(tag))
                       for length, digest, tag in record["digests"]]
            return cls(salt, entries)
        except (KeyError, TypeError, ValueError):
            return None

    def digest(self, data: bytes) -> bytes:
        """The salted digest of ``data``."""
        return hashlib.blake2b(data, key=self.salt, digest_size=16).digest()

    def tag(self, data: bytes) -> int:
        """The low 16 bits of the salted rolling hash of ``data``."""
        h = 0
        for byte in data:
            h = (h * self._base + byte) % _PRIME
        return h & 0xFFFF

    def add(self, length: int, digest: bytes, tag: int) -> bool:
        """Remember one form; False when it was known already."""
        known = self.by_length.setdefault(length, {})
        if digest in known:
            return False
        known[digest] = tag
        return True

    def forms(self, value: str) -> list[tuple[int, bytes, int]]:
        """(length, digest, tag) of the forms of ``value`` worth remembering."""
        from urllib.parse import quote

        out = []
        for form in dict.fromkeys((value, strip_controls(value), quote(value, safe=""))):
            data = form.encode("utf-8", "surrogateescape")
            if len(data) >= MIN_VALUE_LENGTH:
                out.append((len(data), self.digest(data), self.tag(data)))
        return out

    def record(self) -> dict[str, Any]:
        """A JSON-able form (salt and digests as hex) for the journal."""
        return {"salt": self.salt.hex(), "digests": sorted(
            [length, digest.hex(), tag] for length, known in self.by_length.items()
            for digest, tag in known.items())}

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of ``text`` whose bytes are a remembered form."""
        if not self.by_length or len(text) < MIN_VALUE_LENGTH:
            return []
        data = text.encode("utf-8", "surrogateescape")
        base, prime = self._base, _PRIME
        prefix = [0]  # prefix[i] = rolling hash of data[:i]
        h = 0
        for byte in data:
            h = (h * base + byte) % prime
            prefix.append(h)
        found: list[tuple[int, int]] = []
        for length, known in self.by_length.items():
            if length > len(data):
                continue
            tags = set(known.values())
            shift = pow(base, length, prime)
            # the window data[start:start+length] hashes to (hi - lo * shift) % prime
            for start, (lo, hi) in enumerate(zip(prefix, prefix[length:])):
                if (hi - lo * shift) % prime & 0xFFFF in tags \
                        and self.digest(data[start:start + length]) in known:
                    found.append((start, start + length))
        if not found:
            return []
        # byte offsets -> character offsets (a span may only cover whole characters)
        spans = []
        for start, end in found:
            try:
                head = data[:start].decode("utf-8", "surrogateescape")
                body = data[start:end].decode("utf-8", "surrogateescape")
            except UnicodeDecodeError:
                continue
            spans.append((len(head), len(head) + len(body)))
        return spans


def remembered_in(records: Iterable[Any]) -> Remembered | None:
    """The digests a session recorded (``secret_digests`` of its events), merged under the
    first salt found; None when there are none."""
    merged: Remembered | None = None
    for record in records:
        found = Remembered.from_record(record)
        if found is None:
            continue
        if merged is None:
            merged = found
        elif found.salt == merged.salt:
            for length, known in found.by_length.items():
                for digest, tag in known.items():
                    merged.add(length, digest, tag)
    return merged
