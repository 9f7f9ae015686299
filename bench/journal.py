"""Journal benchmark (prints figures; not a test).

Append + fsync latency over 5,000 events beside a bare ``os.write`` + ``os.fsync`` of the same
bytes, the full ``Session.record`` (redact + append + snapshot) for reference, and the load of a
10,000-event session beside ``json.loads`` of the same lines — all measured in the same run.

    PYTHONPATH=src python bench/journal.py [--events 5000] [--load-events 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rsdeploy_tui.checklist.model import Checklist, Item, Phase, Section
from rsdeploy_tui.session import Event, SessionStore
from rsdeploy_tui.session.journal import JournalWriter


def checklist(items: int = 133) -> Checklist:
    """A checklist the size of the bundled one."""
    section = Section(
        "s",
        "Section",
        tuple(Item(f"i{n}", "p", "s", f"Item {n}", critical=n % 10 == 0) for n in range(items)),
    )
    return Checklist(name="bench", phases=(Phase("p", "Phase", (section,)),), sha256="0" * 64)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def line(name: str, samples: list[float]) -> str:
    return (
        f"  {name:<34} p50 {pct(samples, 0.50):7.3f} ms   p99 {pct(samples, 0.99):7.3f} ms"
        f"   mean {statistics.fmean(samples) * 1000:7.3f} ms"
    )


def bench_append(root: Path, count: int) -> None:
    events = [
        Event(n, "tick", "2026-11-26T02:30:00.000Z", "ana", "bastion", f"p.i{n % 133}", {})
        for n in range(1, count + 1)
    ]
    writer = JournalWriter(root / "events.jsonl", 0)
    bare_fd = os.open(root / "bare.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    ours: list[float] = []
    bare: list[float] = []
    for event in events:  # interleaved, so both see the same disk at the same moment
        data = event.to_line()
        start = time.perf_counter()
        os.write(bare_fd, data)
        os.fsync(bare_fd)
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        writer.append(event)
        ours.append(time.perf_counter() - start)
    writer.close()
    os.close(bare_fd)
    print(f"append + fsync, {count} events:")
    print(line("JournalWriter.append", ours))
    print(line("bare os.write + os.fsync", bare))
    print(f"  p99 ratio: {pct(ours, 0.99) / pct(bare, 0.99):.2f}x (target <= 1.5x)")


def bench_record(root: Path, count: int) -> None:
    store = SessionStore(root / "sessions")
    session = store.create(checklist(), operator="ana")
    samples = []
    for n in range(count):
        start = time.perf_counter()
        session.record("tick", f"p.i{n % 133}")
        samples.append(time.perf_counter() - start)
    session.close()
    print(f"Session.record (redact + append + atomic snapshot), {count} events:")
    print(line("Session.record", samples))


def bench_load(root: Path, count: int) -> None:
    store = SessionStore(root / "load")
    session = store.create(checklist(), operator="ana")
    session.close()
    journal = session.dir / "events.jsonl"
    with journal.open("ab") as handle:  # fast fill: same bytes as record() would write
        for n in range(2, count + 1):
            kind = ("tick", "note", "check_result")[n % 3]
            data = (
                {"text": f"note {n}"}
                if kind == "note"
                else (
                    {
                        "status": "pass",
                        "summary": "HTTP 200 in 41 ms",
                        "duration_s": 0.04,
                        "evidence": {"status": 200},
                    }
                    if kind == "check_result"
                    else {}
                )
            )
            handle.write(
                Event(
                    n, kind, "2026-11-26T02:30:00.000Z", "ana", "bastion", f"p.i{n % 133}", data
                ).to_line()
            )
    raw = journal.read_bytes()
    loads, opens = [], []
    for _ in range(5):
        start = time.perf_counter()
        for raw_line in raw.splitlines():
            json.loads(raw_line)
        loads.append(time.perf_counter() - start)
        start = time.perf_counter()
        opened = store.open(session.id, read_only=True)
        opened.state(checklist())
        opens.append(time.perf_counter() - start)
    assert len(opened.events) == count
    print(f"load a {count}-event session ({len(raw) / 1e6:.1f} MB), best of 5:")
    print(f"  {'open(read_only) + state()':<34} {min(opens) * 1000:7.1f} ms (target < 300 ms)")
    print(f"  {'json.loads of the same lines':<34} {min(loads) * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--load-events", type=int, default=10000)
    parser.add_argument("--record-events", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        root = Path(tmp)
        print(f"in {root} (set BENCH_DIR to measure another disk)")
        bench_append(root, args.events)
        bench_record(root, args.record_events)
        bench_load(root, args.load_events)


if __name__ == "__main__":
    main()
