"""Redaction: secret values and secret-shaped text become ``****`` before anything is written.

Two sources: the values of secret environment variables (the checklist's ``secrets`` plus the
well-known ones), and text shaped like a secret (AWS keys, ``password=...``, ``:password@`` in
URLs, ``SECRET_KEY=...``, private key blocks), whatever its value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "****"
ALWAYS_SECRET = ("DB_PASSWORD", "SECRET_KEY", "ADMIN_PASSWORD", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "PGPASSWORD")
"""Environment variables redacted in every session, whatever the checklist says."""
MIN_VALUE_LENGTH = 4
"""Env values shorter than this are not redacted (``1`` or ``on`` would blank out everything)."""

_KEY_WORDS = r"(?:passw(?:or)?d|pwd|secret[_-]?key|secret[_-]?access[_-]?key|session[_-]?token" \
             r"|api[_-]?key|api[_-]?token|auth[_-]?token|access[_-]?token|private[_-]?key" \
             r"|client[_-]?secret)"
# label (any word around a key word) then = or :, optional quotes, then the value
_LABELLED = re.compile(
    r"(?i)(\b[\w.-]*" + _KEY_WORDS + r"[\w-]*[\"']?\s*[:=]\s*[\"']?)([^\s\"'&;,}\]]+)")
# 40-character AWS secret keys after an aws_secret-ish label (any separator)
_AWS_SECRET = re.compile(r"(?i)(aws.{0,20}secret.{0,30}?)(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})"
                         r"(?![A-Za-z0-9/+=])")
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)([^\s@/]+)(@)")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z ]*PRIVATE KEY( BLOCK)?-----.*?(-----END[A-Z ]*PRIVATE KEY( BLOCK)?-----|\Z)",
    re.DOTALL)
_PRIVATE_KEY_START = re.compile(r"-----BEGIN[A-Z ]*PRIVATE KEY( BLOCK)?-----")
_PRIVATE_KEY_END = re.compile(r"-----END[A-Z ]*PRIVATE KEY( BLOCK)?-----")
_SECRET_KEY_NAME = re.compile(r"(?i)" + _KEY_WORDS)


class Redactor:
    """Replaces secrets in text and in nested values with ``****``.

    Args:
        secret_names: Environment variable names whose values are secret (the checklist's
            ``secrets``); the ``ALWAYS_SECRET`` names are added.
        environ: Where the values are read (default: the process environment), read again at
            every call so a secret set later is still masked.
    """

    def __init__(self, secret_names: Iterable[str] = (),
                 environ: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if environ is None else environ
        self.secret_names = tuple(dict.fromkeys([*ALWAYS_SECRET, *secret_names]))
        self._names = {name.lower() for name in self.secret_names}
        self._seen: tuple[str | None, ...] | None = None
        self._values: re.Pattern[str] | None = None

    def _value_pattern(self) -> re.Pattern[str] | None:
        # re-read each time: the app may set DB_PASSWORD after the session started
        current = tuple(self._env.get(name) for name in self.secret_names)
        if current != self._seen:
            values = {v for v in current if v and len(v) >= MIN_VALUE_LENGTH}
            # the longest first, so a value containing another is masked whole
            ordered = sorted(values, key=len, reverse=True)
            self._values = re.compile("|".join(map(re.escape, ordered))) if ordered else None
            self._seen = current
        return self._values

    def text(self, text: str) -> str:
        """``text`` with every secret value and secret-shaped part replaced by ``****``."""
        return self._text(text, self._value_pattern())

    def value(self, value: Any) -> Any:
        """A copy of ``value`` with strings redacted, recursing into dicts, lists and tuples.

        A dict entry whose key names a secret (``password``, ``DB_PASSWORD``, ``secret_key`` ...)
        has its whole value masked. Lists of strings are treated as lines of output: a private key
        block spread over several lines is masked line by line.
        """
        return self._value(value, self._value_pattern())

    def lines(self, lines: Iterable[str]) -> list[str]:
        """Redact lines of output, masking every line inside a private key block."""
        return self._lines(lines, self._value_pattern())

    # The secret values are read from the environment once per call above, not once per string
    # inside it (a session's first event holds a few hundred strings).
    @staticmethod
    def _text(text: str, values: re.Pattern[str] | None) -> str:
        if not text:
            return text
        if values is not None:
            text = values.sub(MASK, text)
        # Each pattern runs only when the text holds what it cannot match without (most
        # strings are ids and plain words): the checks are exact, never skipping a match.
        if "PRIVATE KEY" in text:
            text = _PRIVATE_KEY.sub(MASK, text)
        if "A" in text:  # every AWS key id prefix starts with a capital A
            text = _AWS_KEY_ID.sub(MASK, text)
        if "aws" in text.lower() or not text.isascii():  # (?i) reads U+017F (long s) as s
            text = _AWS_SECRET.sub(lambda m: m.group(1) + MASK, text)
        if "://" in text:
            text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
        if ":" in text or "=" in text:
            text = _LABELLED.sub(lambda m: m.group(1) + MASK, text)
        return text

    def _value(self, value: Any, values: re.Pattern[str] | None) -> Any:
        if isinstance(value, str):
            return self._text(value, values)
        if isinstance(value, Mapping):
            return {key: self._entry(str(key), item, values) for key, item in value.items()}
        if isinstance(value, list | tuple):
            if value and all(isinstance(item, str) for item in value):
                return self._lines(value, values)
            return [self._value(item, values) for item in value]
        return value

    def _lines(self, lines: Iterable[str], values: re.Pattern[str] | None) -> list[str]:
        out: list[str] = []
        in_key = False
        for line in lines:
            if in_key:
                if _PRIVATE_KEY_END.search(line):
                    in_key = False
                out.append(MASK)
                continue
            if _PRIVATE_KEY_START.search(line) and not _PRIVATE_KEY_END.search(line):
                in_key = True
                before = _PRIVATE_KEY_START.split(line, maxsplit=1)[0]
                out.append(self._text(before, values) + MASK)
                continue
            out.append(self._text(line, values))
        return out

    def _entry(self, key: str, item: Any, values: re.Pattern[str] | None) -> Any:
        if isinstance(item, str | bytes) and item and (
                key.lower() in self._names or _SECRET_KEY_NAME.search(key)):
            return MASK
        return self._value(item, values)
