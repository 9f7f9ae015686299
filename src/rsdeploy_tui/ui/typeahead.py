"""Keys typed after ``q`` belong to the shell, not to an app that is leaving.

Textual's terminal driver keeps reading the terminal until its shutdown is over (half a second
to two on a loaded bastion) and then flushes the terminal's input queue (``tcflush``): whatever
the operator typed after ``q`` (``rsdeploy-tui show``, ``eb status`` ...) was swallowed.
``KeepTypeaheadDriver`` stops reading the moment the app decides to quit (``stop_reading``) and
does not flush, so those keys stay queued in the terminal and the shell reads them.

Keys that came in the same read as ``q`` (a paste, tmux, a laggy link delivering ``qeb status``
at once) were already taken off the terminal: the app keeps their text (``OrderedKeys`` stops
routing keys once it is leaving) and ``hand_back`` puts it back into the terminal's input queue
(``TIOCSTI``) once the app is gone. Where the kernel refuses that (``legacy_tiocsti`` off), the
operator is told how many keys were not handed back, never left wondering.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

from textual.drivers.linux_driver import LinuxDriver


class KeepTypeaheadDriver(LinuxDriver):
    """The Linux driver, minus the input flush, plus an early stop of the input thread."""

    _reading_stopped = False

    def stop_reading(self) -> None:
        """Stop taking keys off the terminal now (the app is quitting); later keys stay queued
        for whatever reads the terminal next. Waits up to one select tick (0.1 s)."""
        if self._reading_stopped:
            return
        self._reading_stopped = True
        self.exit_event.set()
        thread = self._key_thread
        if thread is not None and thread.is_alive():
            thread.join()
        self._cook_input()

    def _cook_input(self) -> None:
        """Give the terminal back its own input modes (line editing, Enter as end of line) now,
        not when the app is gone: keys typed while the app finishes leaving are queued as the
        shell expects them. In the app's raw mode, Enter queued as ``\\r``, which a shell's
        ``read`` does not take as the end of a line. Echo stays off until the app is gone, so
        those keys do not draw over its last frame."""
        import termios

        if self.attrs_before is None:
            return
        cooked = list(self.attrs_before)
        cooked[3] &= ~(termios.ECHO | termios.ECHONL)  # lflag: the app restores echo on exit
        with contextlib.suppress(termios.error, OSError, ValueError):
            termios.tcsetattr(self.fileno, termios.TCSANOW, cooked)

    def disable_input(self) -> None:
        """As Textual's, without ``tcflush``: typed-ahead keys are the shell's (or, around
        an interactive command, that command's)."""
        if self._reading_stopped and not self.exit_event.is_set():
            return  # already disabled
        self.stop_reading()
        with contextlib.suppress(ValueError, OSError):  # not the main thread / no terminal
            signal.signal(signal.SIGWINCH, signal.SIG_DFL)
        self._disable_mouse_support()
        self.exit_event.clear()
        self._reading_stopped = False  # start_application_mode (after a suspend) reads again


def stop_reading_keys(app: Any) -> None:
    """Ask the app's driver to stop reading keys (a no-op for any other driver, e.g. tests)."""
    driver = getattr(app, "_driver", None)
    if isinstance(driver, KeepTypeaheadDriver):
        driver.stop_reading()


def key_text(event: Any) -> str:
    """What a key or paste typed, as the shell would read it ("" for keys that type nothing)."""
    text = getattr(event, "text", None)
    if isinstance(text, str) and not hasattr(event, "key"):
        return text  # a paste
    character = getattr(event, "character", None)
    if character and (character.isprintable() or character in "\r\n\t"):
        return character
    return ""


def hand_back(text: str) -> str | None:
    """Put ``text`` back into the terminal's input queue, for the shell to read.

    Returns None when done (or nothing to do), else the sentence saying what could not be
    handed back and why.
    """
    if not text:
        return None
    import fcntl
    import termios

    try:
        fd = sys.stdin.fileno()
        if not os.isatty(fd):
            raise OSError("standard input is not a terminal")
        for byte in text.encode("utf-8"):
            fcntl.ioctl(fd, termios.TIOCSTI, bytes([byte]))
    except (OSError, ValueError, AttributeError) as error:
        why = getattr(error, "strerror", None) or str(error)
        return (f"{len(text)} character(s) typed right after q could not be handed to the "
                f"shell ({why}); type them again.")
    return None
