"""Importing the app and the CLI must not pull in the slow client libraries (start-up time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = ("boto3", "botocore", "httpx", "psycopg2")


def test_app_and_cli_imports_stay_light() -> None:
    code = (
        "import json, sys\n"
        "import rsdeploy_tui.cli, rsdeploy_tui.app, rsdeploy_tui.commands.tui\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == []
    # The test can fail: importing boto3 the same way is seen.
    probe = subprocess.run(
        [sys.executable, "-c", code.replace("import json, sys\n", "import json, sys, botocore\n")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(probe.stdout) == ["botocore"]
