"""Time to first frame: `rsdeploy-tui` on the bundled checklist beside a minimal Textual app.

Both run as real processes on a pseudo-terminal (80x24, TERM=xterm-256color), interleaved, in the
same run; the clock stops when the first frame's marker text reaches the terminal. Prints figures
(median, min, max) and the ratio of medians (issue 4 target: <= 1.3) for a usual launch (the
parsed checklist cached by an earlier one) and, beside it, for the first launch (no cache).
Other work on the machine only ever adds time, so the ratio of the fastest runs is printed too:
when the spread is wide (a busy machine), that one is the steadier figure.
Bytecode is compiled first, as ``pip install`` does. Not part of the test run.

    PYTHONPATH=src python bench/startup.py [--runs 11]
"""

from __future__ import annotations

import argparse
import compileall
import fcntl
import os
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]|\x1b\][^\x07]*\x07")

MINIMAL_APP = """
from textual.app import App
from textual.widgets import Footer, Header, Static

class Minimal(App):
    def compose(self):
        yield Header()
        yield Static("minimal-first-frame")
        yield Footer()

Minimal().run()
"""


def first_frame(
    argv: list[str], marker: bytes, env: dict[str, str], timeout: float = 30.0
) -> float:
    """Seconds from spawning ``argv`` on a new pty until ``marker`` is on its screen."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, start_new_session=True
    )
    os.close(slave)
    seen = b""
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            seen += chunk
            if marker in ESCAPES.sub(b"", seen):
                return time.perf_counter() - start
        raise RuntimeError(f"no first frame from {argv[:3]}; got {ESCAPES.sub(b'', seen)[-300:]!r}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)


def describe(name: str, times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return (
        f"{name:<28} median {statistics.median(ms):7.1f} ms   min {min(ms):7.1f}   "
        f"max {max(ms):7.1f}   ({len(ms)} runs)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    # As installed: pip compiles the bytecode at install time (PYTHONDONTWRITEBYTECODE, set on
    # some machines, would otherwise make every run compile rsdeploy-tui from source).
    compileall.compile_dir(REPO / "src", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(REPO / "src"),
            "RSDEPLOY_STATE_DIR": f"{tmp}/state",
            "RSDEPLOY_CONFIG_DIR": f"{tmp}/config",
            "RSDEPLOY_CACHE_DIR": f"{tmp}/cache",
        }
        ours_argv = [sys.executable, "-m", "rsdeploy_tui", "--operator", "bench"]
        minimal_argv = [sys.executable, "-c", MINIMAL_APP]
        # Warm the file cache and rsdeploy-tui's parsed-checklist cache, as any launch after the
        # first leaves them. Each run starts a new session (a fresh state dir: no resume offer).
        first_frame(minimal_argv, b"minimal-first-frame", env)
        first_frame(ours_argv, b"Pre-Deployment", env)
        ours: list[float] = []
        cold: list[float] = []
        minimal: list[float] = []
        for run in range(args.runs):
            env["RSDEPLOY_STATE_DIR"] = f"{tmp}/state-{run}"
            ours.append(first_frame(ours_argv, b"Pre-Deployment", env))
            minimal.append(first_frame(minimal_argv, b"minimal-first-frame", env))
            # The first launch after an install or a checklist edit: no parsed checklist yet.
            env["RSDEPLOY_STATE_DIR"] = f"{tmp}/cold-state-{run}"
            cold.append(first_frame(ours_argv, b"Pre-Deployment", {
                **env, "RSDEPLOY_CACHE_DIR": f"{tmp}/cold-cache-{run}"}))
    print(describe("minimal Textual app", minimal))
    print(describe("rsdeploy-tui (bundled)", ours))
    print(describe("  first launch (no cache)", cold))
    ratio = statistics.median(ours) / statistics.median(minimal)
    cold_ratio = statistics.median(cold) / statistics.median(minimal)
    print(f"ratio rsdeploy-tui / minimal: {ratio:.2f}  (target <= 1.3; "
          f"first launch {cold_ratio:.2f})")
    spread = max(minimal) / min(minimal) - 1
    print(f"fastest runs: ratio {min(ours) / min(minimal):.2f} (first launch "
          f"{min(cold) / min(minimal):.2f}); the minimal app's slowest run is {spread:.0%} above "
          f"its fastest{' (a busy machine: read the fastest runs)' if spread > 0.25 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
