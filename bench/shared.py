"""Shared store benchmark (prints figures; not a test), on moto's server on 127.0.0.1.

- ``record()`` as the UI sees it, local store vs shared store, interleaved in the same run
  (target: shared p99 within 1.2x of local: the network is off the critical path).
- Tick-to-viewer: a tick recorded by the holder until a viewer on another state dir, polling
  the store as the read-only runbook does (every ``ui.follow.POLL_S``), has it (target p50 < 3 s).
- Upload of N events (default 10,000) recorded while the store was unreachable, once it is back.

    PYTHONPATH=src python bench/shared.py [--events 300] [--ticks 10] [--offline 10000]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from journal import checklist, line  # noqa: E402  (bench/journal.py: same checklist, same figures)

from rsdeploy_tui.session import SessionStore  # noqa: E402
from rsdeploy_tui.session.shared.bucket import Bucket  # noqa: E402
from rsdeploy_tui.session.shared.store import SharedStore  # noqa: E402
from rsdeploy_tui.session.shared.url import parse_store_url  # noqa: E402

BUCKET = "rsdeploy-bench"


def moto(port: int = 0) -> tuple[object, int]:
    from moto.server import ThreadedMotoServer

    if not port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)
    return server, port


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--offline", type=int, default=10_000)
    args = parser.parse_args()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1")
    server, port = moto()
    settings = {"aws_endpoint_url": f"http://127.0.0.1:{port}", "aws_region": "us-east-1"}
    url = parse_store_url(f"s3://{BUCKET}/bench", "bench")
    import boto3

    boto3.client("s3", endpoint_url=settings["aws_endpoint_url"]).create_bucket(Bucket=BUCKET)
    cl = checklist()
    items = [item.qid for item in cl.iter_items()]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        local = SessionStore(root / "local").create(cl, operator="bench")
        shared = SessionStore(root / "a", shared=SharedStore(url, Bucket(url, settings))).create(
            cl, operator="bench")
        times: dict[str, list[float]] = {"local": [], "shared": []}
        for n in range(args.events):
            for name, session in (("local", local), ("shared", shared)):
                start = time.perf_counter()
                session.record("tick" if n % 2 == 0 else "untick", items[n % len(items)])
                times[name].append(time.perf_counter() - start)
        print(f"record() as the UI sees it, {args.events} events each, interleaved:")
        for name, samples in times.items():
            print(line(name, samples))
        ratio = sorted(times["shared"])[int(0.99 * len(times["shared"]))] / sorted(
            times["local"])[int(0.99 * len(times["local"]))]
        print(f"  shared/local p99: {ratio:.2f}x (target <= 1.2x)")
        shared.shared.wait_uploaded(600)
        local.close()

        viewer = SessionStore(root / "b", shared=SharedStore(url, Bucket(url, settings))).open(
            shared.id, read_only=True)
        from rsdeploy_tui.ui.follow import POLL_S

        latencies = []
        for n in range(args.ticks):
            viewer.refresh()
            # the viewer polls every POLL_S from a moment unrelated to the tick
            time.sleep((n % 10) / 10 * POLL_S)
            start = time.perf_counter()
            shared.record("note", items[0], text=f"bench {n}")
            while True:
                if any(e.kind == "note" for e in viewer.refresh()):
                    break
                time.sleep(POLL_S)
            latencies.append(time.perf_counter() - start)
        print(f"tick to viewer on another state dir ({args.ticks} ticks, polling every "
              f"{POLL_S:.1f} s): p50 {statistics.median(latencies):.2f} s, "
              f"max {max(latencies):.2f} s (target p50 < 3 s)")
        shared.close()

        # offline: the store stops, N events are recorded locally, then it comes back
        session = SessionStore(root / "c", shared=SharedStore(url, Bucket(url, settings))).create(
            cl, operator="bench")
        session.shared.wait_uploaded(60)
        server.stop()  # type: ignore[attr-defined]
        start = time.perf_counter()
        for n in range(args.offline):
            session.record("note", items[n % len(items)], text=f"offline {n}")
        recorded = time.perf_counter() - start
        print(f"{args.offline} events recorded while offline in {recorded:.1f} s "
              f"({session.shared.status()})")
        server, _port = moto(port)
        start = time.perf_counter()
        done = session.shared.wait_uploaded(3600)
        took = time.perf_counter() - start
        print(f"upload once the store is back: {took:.1f} s "
              f"({args.offline / took:.0f} events/s, all shared: {done})")
        session.close()
    server.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
