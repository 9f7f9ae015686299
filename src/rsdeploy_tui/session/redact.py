"""Redaction: secret values and secret-shaped text become ``****`` before anything is written.

Three sources:
- the values of secret environment variables (the checklist's ``secrets`` plus the well-known
  ones) and values handed over in memory (``add_values``: a var named like a token or password),
  in every form a program prints them: as they are, URL-encoded, hex, base64 (standard and
  URL-safe, at any alignment, so ``Authorization: Basic base64(user:pw)`` too);
- values remembered by a session as salted digests (``session.remembered.Remembered``),
  recognised in text even when the secret is no longer in this process's environment (a resume
  from another shell);
- text shaped like a secret (AWS keys, ``password=...``, ``:password@`` in URLs, ``SECRET_KEY=...``,
  ``Authorization:`` headers, bearer tokens, private key blocks), whatever its value.

Matching looks through terminal control sequences: a value printed with an escape sequence inside
(``ab\\x1b[1mcd``) is still found, and the line it is in loses its escapes rather than its mask.

Stdlib only: the detached-run wrapper loads this file by path, outside the package.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # not imported at run time: the run wrapper loads this file alone, by path
    from rsdeploy_tui.session.remembered import Remembered

MASK = "****"
ALWAYS_SECRET = ("DB_PASSWORD", "SECRET_KEY", "ADMIN_PASSWORD", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "PGPASSWORD")
"""Environment variables redacted in every session, whatever the checklist says."""
MIN_VALUE_LENGTH = 4
"""Env values shorter than this are not redacted (``1`` or ``on`` would blank out everything)."""
MIN_FORM_LENGTH = 6
"""Encoded fragments shorter than this are not matched (a 4-character base64 piece is noise)."""

_KEY_WORDS = r"(?:passw(?:or)?d|pwd|secret[_-]?key|secret[_-]?access[_-]?key|session[_-]?token" \
             r"|api[_-]?key|api[_-]?token|auth[_-]?token|access[_-]?token|private[_-]?key" \
             r"|client[_-]?secret|(?<!csrf)(?<!csrf[_-])token)"
# label (any word around a key word) then = or :, optional quotes, then the value
_LABELLED = re.compile(
    r"(?i)(\b[\w.-]*" + _KEY_WORDS + r"[\w-]*[\"']?\s*[:=]\s*[\"']?)([^\s\"'&;,}\]]+)")
# 40-character AWS secret keys after an aws_secret-ish label (any separator)
_AWS_SECRET = re.compile(r"(?i)(aws.{0,20}secret.{0,30}?)(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})"
                         r"(?![A-Za-z0-9/+=])")
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)([^\s@/]+)(@)")
# An Authorization header (as a header line, a JSON/dict repr or curl -H) and a bare bearer
# token: the credential is masked, the scheme (Basic, Bearer ...) kept so the reader knows what
# was sent.
_AUTH_HEADER = re.compile(
    r"(?i)(\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:bearer|basic|token|digest|negotiate|aws4-hmac-sha256)\s+)?)([^\s\"',;}\]]+)")
_BEARER = re.compile(r"(?i)(\bbearer\s+)([A-Za-z0-9._~+/=-]{6,})")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z ]*PRIVATE KEY( BLOCK)?-----.*?(-----END[A-Z ]*PRIVATE KEY( BLOCK)?-----|\Z)",
    re.DOTALL)
_PRIVATE_KEY_START = re.compile(r"-----BEGIN[A-Z ]*PRIVATE KEY( BLOCK)?-----")
_PRIVATE_KEY_END = re.compile(r"-----END[A-Z ]*PRIVATE KEY( BLOCK)?-----")
# dict keys: the key words (any *token* but a CSRF one, which is public), headers, webhooks
_SECRET_KEY_NAME = re.compile(r"(?i)" + _KEY_WORDS + r"|authorization|webhook")
# Terminal control sequences (CSI incl. SGR, OSC, two-byte ESC) and the other C0/C1 controls
# (newline and tab are text). Stripped before matching, so they cannot split a secret.
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?|\x9b[0-?]*[ -/]*[@-~]"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_HAS_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_B64_CHAR = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
# What every shape pattern above needs in the text (lower-cased): one scan screens a line.
# (apart, each starting with a literal: ``re`` searches those faster than one alternation)
_SHAPE_MARKS = tuple(re.compile(pattern) for pattern in (
    r"p(?:assw|wd|rivate)", r"secret", r"token", r"api[_-]?key", r"://", r"uthoriz", r"bearer"))
_KEY_ID_MARKS = re.compile(r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)")


def strip_controls(text: str) -> str:
    """``text`` without terminal control sequences and control characters (newline, tab kept)."""
    return _CONTROL.sub("", text) if _HAS_CONTROL.search(text) else text


def value_forms(value: str) -> tuple[set[str], set[str]]:
    """(exact forms, base64 fragments) under which ``value`` can show up in output.

    Exact forms: the value, without control sequences, URL-encoded (``%2F``/``+`` variants) and
    hex (both cases). Base64 fragments: for each of the three alignments the value can have
    inside a longer encoded string (``user:pw`` in HTTP Basic), the characters that depend on
    the value alone — in standard and URL-safe alphabets.
    """
    from urllib.parse import quote, quote_plus

    exact = {value, strip_controls(value)}
    raw = value.encode("utf-8", "surrogateescape")
    for form in (quote(value, safe=""), quote_plus(value, safe=""), quote(value, safe="/:@"),
                 raw.hex(), raw.hex().upper()):
        exact.add(form)
    fragments: set[str] = set()
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + raw).decode("ascii")
        start, end = -(-8 * k // 6), (8 * k + 8 * len(raw)) // 6
        piece = encoded[start:end]
        if len(piece) >= MIN_FORM_LENGTH:
            fragments.add(piece)
            fragments.add(piece.replace("+", "-").replace("/", "_"))
    exact = {form for form in exact if len(form) >= MIN_VALUE_LENGTH}
    return exact, fragments


class Redactor:
    """Replaces secrets in text and in nested values with ``****``.

    Args:
        secret_names: Environment variable names whose values are secret (the checklist's
            ``secrets``); the ``ALWAYS_SECRET`` names are added, and the names in ``environ``
            (when the redactor is made) that look like a secret's (``*_TOKEN``, ``*PASSWORD*``).
        environ: Where the values are read (default: the process environment), read again at
            every call so a secret set later is still masked.
        remembered: Digests of values this session saw before (``Remembered``), masked even
            when the environment no longer holds them.
    """

    def __init__(self, secret_names: Iterable[str] = (),
                 environ: Mapping[str, str] | None = None,
                 remembered: Remembered | None = None) -> None:
        self._env = os.environ if environ is None else environ
        # an environment variable named like a secret (GITHUB_TOKEN, SMTP_PASSWORD) is one
        named = [name for name in self._env if _SECRET_KEY_NAME.search(name)]
        self.secret_names = tuple(dict.fromkeys([*ALWAYS_SECRET, *secret_names, *named]))
        self._names = {name.lower() for name in (*ALWAYS_SECRET, *secret_names)}
        self.remembered = remembered
        self._added: dict[str, None] = {}
        self._seen: tuple[str | None, ...] | None = None
        self._values: re.Pattern[str] | None = None
        self._fragments: re.Pattern[str] | None = None
        self._screen: re.Pattern[str] | None = None  # every form and fragment, for screening
        self._plain: tuple[str, ...] = ()
        # remembered digests that no value in hand accounts for: text must be scanned for them
        self._unresolved: Remembered | None = None
        self._checked: tuple[str | None, ...] | None = None

    # -- the values ------------------------------------------------------------------------

    def add_values(self, values: Iterable[str]) -> None:
        """Also mask these values (held in memory only), e.g. vars named like a token."""
        for value in values:
            if value and len(value) >= MIN_VALUE_LENGTH and value not in self._added:
                self._added[value] = None
                self._seen = None  # the patterns are rebuilt on the next call

    def added_values(self) -> list[str]:
        """The values given to ``add_values`` (to pass on to a run's wrapper, in memory)."""
        return list(self._added)

    def current_values(self) -> list[str]:
        """Every secret value in hand now: the environment's and the added ones."""
        values = [self._env.get(name) for name in self.secret_names]
        return [v for v in dict.fromkeys([*values, *self._added])
                if v and len(v) >= MIN_VALUE_LENGTH]

    def unremembered(self) -> list[tuple[int, bytes, int]]:
        """Forms of values in hand that ``remembered`` does not know yet (adds none)."""
        if self.remembered is None:
            return []
        out = []
        for value in self.current_values():
            for length, digest, tag in self.remembered.forms(value):
                if digest not in self.remembered.by_length.get(length, {}):
                    out.append((length, digest, tag))
        return out

    def remember_new(self) -> dict[str, Any] | None:
        """Add the forms of values in hand that ``remembered`` lacks; returns the new ones as a
        ``Remembered.record()`` dict for the journal (None when there are none)."""
        if self.remembered is None:
            return None
        self._refresh()
        if self._checked == self._seen:  # the values did not change since the last look
            return None
        self._checked = self._seen
        new = type(self.remembered)(self.remembered.salt)
        for length, digest, tag in self.unremembered():
            if self.remembered.add(length, digest, tag):
                new.add(length, digest, tag)
        return new.record() if new.by_length else None

    def _refresh(self) -> None:
        # re-read each time: the app may set DB_PASSWORD after the session started
        current = (*(self._env.get(name) for name in self.secret_names), *self._added)
        if current == self._seen:
            return
        self._seen = current
        exact: set[str] = set()
        fragments: set[str] = set()
        for value in self.current_values():
            forms, pieces = value_forms(value)
            exact |= forms
            fragments |= pieces
        # the longest first, so a value containing another is masked whole
        ordered = sorted(exact, key=len, reverse=True)
        self._plain = tuple(ordered)
        self._values = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._fragments = re.compile("|".join(
            map(re.escape, sorted(fragments, key=len, reverse=True)))) if fragments else None
        both = sorted(exact | fragments, key=len, reverse=True)
        self._screen = re.compile("|".join(map(re.escape, both))) if both else None
        self._unresolved = None
        if self.remembered is not None and self.remembered.by_length:
            accounted = {form[1] for v in self.current_values()
                         for form in self.remembered.forms(v)}
            rest = type(self.remembered)(self.remembered.salt)
            for length, known in self.remembered.by_length.items():
                for digest, tag in known.items():
                    if digest not in accounted:
                        rest.add(length, digest, tag)
            self._unresolved = rest if rest.by_length else None

    # -- public ----------------------------------------------------------------------------

    def text(self, text: str) -> str:
        """``text`` with every secret value and secret-shaped part replaced by ``****``."""
        self._refresh()
        return self._text(text)

    def value(self, value: Any) -> Any:
        """A copy of ``value`` with strings redacted, recursing into dicts, lists and tuples.

        A dict entry whose key names a secret (``password``, ``DB_PASSWORD``, ``secret_key``,
        ``authorization``, ``api_token`` ...) has its whole value masked (a webhook URL keeps its
        scheme and host). Lists of strings are treated as lines of output: a private key block
        spread over several lines is masked line by line.
        """
        self._refresh()
        return self._value(value)

    def lines(self, lines: Iterable[str]) -> list[str]:
        """Redact lines of output, masking every line inside a private key block."""
        self._refresh()
        return self._lines(lines)

    def may_hold_secret(self, text: str) -> bool:
        """False only when ``text`` certainly holds nothing ``text()`` would mask (cheap).

        For screening a flood: one call over many joined lines, then ``text()`` on the lines
        that need it.
        """
        self._refresh()
        # values known only by digest (not in this environment): one scan over all the text
        if self._unresolved is not None and self._unresolved.spans(text):
            return True
        # isprintable runs at C speed; the regex only says which control character it was
        if not text.replace("\n", "").replace("\t", "").isprintable() \
                and _HAS_CONTROL.search(text):
            return True
        if _KEY_ID_MARKS.search(text):
            return True
        lower = text.lower()
        if any(mark.search(lower) for mark in _SHAPE_MARKS):
            return True
        return self._screen is not None and self._screen.search(text) is not None

    # -- inside ----------------------------------------------------------------------------

    def _text(self, text: str) -> str:
        if not text:
            return text
        if _HAS_CONTROL.search(text):
            plain = _CONTROL.sub("", text)
            masked = self._plain_text(plain)
            if masked != plain:
                # the escapes may be what split a secret: the line loses them, not its mask
                return masked
        return self._plain_text(text)

    def _plain_text(self, text: str) -> str:
        if self._values is not None:
            text = self._values.sub(MASK, text)
        if self._fragments is not None and self._fragments.search(text):
            # the whole encoded token goes: what is around the value encodes its neighbours
            spans = [_token_around(text, m.start(), m.end())
                     for m in self._fragments.finditer(text)]
            text = _mask_spans(text, spans)
        if self._unresolved is not None:
            spans = self._unresolved.spans(text)
            if spans:
                text = _mask_spans(text, spans)
        # Each pattern runs only when the text holds what it cannot match without (most
        # strings are ids and plain words): the checks are exact, never skipping a match.
        if "PRIVATE KEY" in text:
            text = _PRIVATE_KEY.sub(MASK, text)
        if "A" in text:  # every AWS key id prefix starts with a capital A
            text = _AWS_KEY_ID.sub(MASK, text)
        lower = text.lower()
        if "aws" in lower or not text.isascii():  # (?i) reads U+017F (long s) as s
            text = _AWS_SECRET.sub(lambda m: m.group(1) + MASK, text)
        if "://" in text:
            text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
        if "uthoriz" in lower or not text.isascii():
            text = _AUTH_HEADER.sub(lambda m: m.group(1) + MASK, text)
        if "earer" in lower or not text.isascii():
            text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
        if ":" in text or "=" in text:
            text = _LABELLED.sub(lambda m: m.group(1) + MASK, text)
        return text

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, Mapping):
            out = {key: self._entry(str(key), item) for key, item in value.items()}
            # {name: api_token, value: ...} (a fact, a value set in the app): the value is secret,
            # and masked wherever it shows up from now on
            name, secret = value.get("name"), value.get("value")
            if isinstance(name, str) and isinstance(secret, str) and secret and (
                    name.lower() in self._names or _SECRET_KEY_NAME.search(name)):
                out["value"] = webhook_shown(secret) if "webhook" in name.lower() else MASK
                self.add_values(secret_var_values({name: secret}))
            return out
        if isinstance(value, list | tuple):
            if value and all(isinstance(item, str) for item in value):
                return self._lines(value)
            return [self._value(item) for item in value]
        return value

    def _lines(self, lines: Iterable[str]) -> list[str]:
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
                out.append(self._text(before) + MASK)
                continue
            out.append(self._text(line))
        return out

    def _entry(self, key: str, item: Any) -> Any:
        if isinstance(item, str | bytes) and item and (
                key.lower() in self._names or _SECRET_KEY_NAME.search(key)):
            if isinstance(item, str) and "webhook" in key.lower():
                return webhook_shown(item)
            return MASK
        return self._value(item)


def webhook_shown(url: str) -> str:
    """A webhook URL as it may be shown: scheme and host kept, the path (its token) masked."""
    match = re.match(r"(?i)([a-z][a-z0-9+.-]*://[^/\s?#@]+)", url.strip())
    return f"{match.group(1)}/{MASK}" if match else MASK


def secret_var_values(values: Mapping[str, str]) -> list[str]:
    """Values of vars that hold a secret: named like one (token, password, key, webhook), and
    the password of any ``scheme://user:password@host`` inside a value."""
    found = []
    for name, value in values.items():
        if not isinstance(value, str) or not value:
            continue
        if _SECRET_KEY_NAME.search(name):
            found.append(value)
            if "webhook" in name.lower():
                path = value.split("://", 1)[-1].partition("/")[2]
                if path:
                    found.append(path)
        if "://" in value:
            found += [m.group(2) for m in _URL_PASSWORD.finditer(value)]
    return [v for v in found if len(v) >= MIN_VALUE_LENGTH]


def _token_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the base64 token holding ``text[start:end]`` (with its ``=`` padding)."""
    while start > 0 and text[start - 1] in _B64_CHAR:
        start -= 1
    while end < len(text) and text[end] in _B64_CHAR:
        end += 1
    while end < len(text) and text[end] == "=":
        end += 1
    return start, end


def _mask_spans(text: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:  # overlaps the span just masked: extend it
            pos = max(pos, end)
            continue
        out += [text[pos:start], MASK]
        pos = end
    out.append(text[pos:])
    return "".join(out)
