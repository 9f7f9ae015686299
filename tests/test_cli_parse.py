"""The launch's quick parse gives what the whole command-line parser gives."""

from __future__ import annotations

import pytest

from rsdeploy_tui.cli import build_parser, parse_args


@pytest.mark.parametrize("argv", [
    [],
    ["--operator", "ana"],
    ["--operator=ana", "--checklist", "other.yaml", "--set", "a=b", "--set", "c=d"],
    ["--read-only", "--take-over"],
    ["--operator", "resume"],  # a value, not the sub-command
    ["--oper", "ana"],  # an abbreviation: only the whole parser takes it
    ["resume", "20261126T020000Z-test", "--read-only"],
    ["--set", "a=b", "resume"],
    ["sessions", "--json"],
    ["validate", "x.yaml"],
])
def test_same_namespace_as_the_whole_parser(argv: list[str]) -> None:
    assert vars(parse_args(argv)) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize("argv", [["--operator"], ["--bogus"], ["--version"], ["-h"]])
def test_errors_help_and_version_come_from_the_whole_parser(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as quick:
        parse_args(argv)
    quick_out = capsys.readouterr()
    with pytest.raises(SystemExit) as whole:
        build_parser().parse_args(argv)
    assert quick.value.code == whole.value.code
    assert quick_out == capsys.readouterr()
