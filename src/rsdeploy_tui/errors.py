"""Errors an operator reads: a short title and a sentence or two saying what to do."""

from __future__ import annotations


class RsdeployError(Exception):
    """Base of every error rsdeploy-tui shows to an operator.

    Attributes:
        title: A few words naming what failed.
        message: One paragraph: what happened, where (file, line), and what was expected.
        exit_code: Exit status when the error ends a command-line run (1 = bad input, 2 = usage).
    """

    exit_code = 1

    def __init__(self, title: str, message: str) -> None:
        super().__init__(f"{title}: {message}")
        self.title = title
        self.message = message

    def __str__(self) -> str:
        return f"{self.title}: {self.message}"


class UsageError(RsdeployError):
    """The command line itself was wrong (exit status 2)."""

    exit_code = 2
