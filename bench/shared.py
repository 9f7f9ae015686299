"""Shared store benchmark (prints figures; not a test), on moto's server on 127.0.0.1.

- ``record()`` as the UI sees it, local store vs shared store, interleaved in the same run
  (target: shared p99 within 1.2x of local: the network is off the critical path).
- Tick-to-viewer: a tick recorded by the holder until a viewer on another state dir, polling
  the store as the read-only runbook does (every ``ui.follow.POLL_S``), has it (target p50 < 3 s).
- Upload of N events (default 10,000) recorded while the store was unreachable, once it is
  back: one at a time (``WINDOW`` 1, as before) and with the window (``objects.WINDOW``), with
  the CPU this process spent per event.

moto runs in its own process (``moto_server``), as S3 is on another machine: in this process
its request handling would take the GIL from the app and count as the app's cost. The app
reaches it through a small TCP relay, also a process of its own: stopping the relay is the
network going away (moto keeps the bucket), starting it again on the same port its return.

    PYTHONPATH=src python bench/shared.py [--events 300] [--ticks 10] [--offline 10000]
                                          [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from journal import checklist, line

from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.session.shared import uploader
from rsdeploy_tui.session.shared.bucket import Bucket
from rsdeploy_tui.session.shared.store import SharedStore
from rsdeploy_tui.session.shared.url import parse_store_url

BUCKET = "rsdeploy-bench"

RELAY = r"""
import socket, sys, threading, time
listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", listen))
server.listen(128)
def pipe(a, b, wait):
    try:
        while data := a.recv(65536):
            if wait:
                time.sleep(wait)  # the answer takes a network's round trip to come back
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
while True:
    client, _ = server.accept()
    upstream = socket.create_connection(("127.0.0.1", target))
    for a, b, wait in ((client, upstream, 0), (upstream, client, delay)):
        threading.Thread(target=pipe, args=(a, b, wait), daemon=True).start()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_port(port: int) -> None:
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"nothing answers on 127.0.0.1:{port}")


def start(command: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--offline", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="added to every answer of the store (a network farther than "
                             "127.0.0.1; S3 in the same region answers in ~10-30 ms)")
    args = parser.parse_args()
    # not "bench": the secret's value is masked wherever it appears, note texts too
    os.environ.update(AWS_ACCESS_KEY_ID="bench-key-id", AWS_SECRET_ACCESS_KEY="bench-secret-9f2c",
                      AWS_DEFAULT_REGION="us-east-1")
    moto_port, relay_port = free_port(), free_port()
    moto_server = str(Path(sys.executable).with_name("moto_server"))
    moto = start([moto_server, "-H", "127.0.0.1", "-p", str(moto_port)], moto_port)
    relay_command = [sys.executable, "-c", RELAY, str(relay_port), str(moto_port),
                     str(args.latency_ms)]
    if args.latency_ms:
        print(f"every answer of the store delayed by {args.latency_ms:.0f} ms")
    relay = start(relay_command, relay_port)
    settings = {"aws_endpoint_url": f"http://127.0.0.1:{relay_port}", "aws_region": "us-east-1"}
    url = parse_store_url(f"s3://{BUCKET}/bench", "bench")
    import boto3

    boto3.client("s3", endpoint_url=settings["aws_endpoint_url"]).create_bucket(Bucket=BUCKET)
    cl = checklist()
    items = [item.qid for item in cl.iter_items()]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            record_figures(root, cl, items, url, settings, args.events)
            viewer_figures(root, cl, items, url, settings, args.ticks)
            for window in (1, uploader.WINDOW):
                relay = offline_figures(root, cl, items, url, settings, args.offline, window,
                                        relay, relay_command, relay_port)
    finally:
        stop(relay)
        stop(moto)


def shared_store(root: Path, name: str, url: object, settings: dict[str, str]) -> SessionStore:
    return SessionStore(root / name, shared=SharedStore(url, Bucket(url, settings)))  # type: ignore[arg-type]


def record_figures(root: Path, cl: object, items: list[str], url: object,
                   settings: dict[str, str], count: int) -> None:
    local = SessionStore(root / "local").create(cl, operator="bench")  # type: ignore[arg-type]
    shared = shared_store(root, "a", url, settings).create(cl, operator="bench")  # type: ignore[arg-type]
    times: dict[str, list[float]] = {"local": [], "shared": []}
    for n in range(count):
        for name, session in (("local", local), ("shared", shared)):
            begin = time.perf_counter()
            session.record("tick" if n % 2 == 0 else "untick", items[n % len(items)])
            times[name].append(time.perf_counter() - begin)
    print(f"record() as the UI sees it, {count} events each, interleaved:")
    for name, samples in times.items():
        print(line(name, samples))
    p99 = {name: sorted(s)[int(0.99 * len(s))] for name, s in times.items()}
    p50 = {name: statistics.median(s) for name, s in times.items()}
    print(f"  shared/local p99: {p99['shared'] / p99['local']:.2f}x (target <= 1.2x), "
          f"p50: {p50['shared'] / p50['local']:.2f}x")
    shared.shared.wait_uploaded(600)
    local.close()
    shared.close()


def viewer_figures(root: Path, cl: object, items: list[str], url: object,
                   settings: dict[str, str], ticks: int) -> None:
    """The viewer polls on its own clock (every ``POLL_S``, as the read-only runbook's timer);
    the holder ticks at moments unrelated to it; each tick's latency is until a poll has it."""
    import threading

    from rsdeploy_tui.ui.follow import POLL_S

    holder = shared_store(root, "h", url, settings).create(cl, operator="bench")  # type: ignore[arg-type]
    holder.shared.wait_uploaded(60)
    viewer = shared_store(root, "b", url, settings).open(holder.id, read_only=True)
    seen: dict[str, float] = {}
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(POLL_S):
            for event in viewer.refresh():
                if event.kind == "note":
                    seen[str(event.data.get("text"))] = time.perf_counter()

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    recorded: dict[str, float] = {}
    for n in range(ticks):
        time.sleep(POLL_S * (1 + (n * 0.37) % 1))  # a phase of the viewer's clock, spread out
        recorded[f"bench {n}"] = time.perf_counter()
        holder.record("note", items[0], text=f"bench {n}")
    deadline = time.monotonic() + 60
    while len(seen) < ticks and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    watcher.join(10)
    latencies = [seen[text] - at for text, at in recorded.items() if text in seen]
    print(f"tick to viewer on another state dir ({ticks} ticks, the viewer polling every "
          f"{POLL_S:.1f} s on its own clock): p50 {statistics.median(latencies):.2f} s, "
          f"max {max(latencies):.2f} s, {len(latencies)}/{ticks} seen (target p50 < 3 s)")
    holder.close()


def offline_figures(root: Path, cl: object, items: list[str], url: object,
                    settings: dict[str, str], count: int, window: int,
                    relay: subprocess.Popen[bytes], relay_command: list[str],
                    relay_port: int) -> subprocess.Popen[bytes]:
    """N events recorded while the network is down, then uploaded once it is back."""
    uploader.WINDOW = window  # the uploader's window for this run (1: one at a time)
    session = shared_store(root, f"offline-{window}", url, settings).create(
        cl, operator="bench")  # type: ignore[arg-type]
    session.shared.wait_uploaded(60)
    stop(relay)  # the network goes away
    begin = time.perf_counter()
    for n in range(count):
        session.record("note", items[n % len(items)], text=f"offline {n}")
    recorded = time.perf_counter() - begin
    print(f"{count} events recorded while offline in {recorded:.1f} s "
          f"({session.shared.status()})")
    relay = start(relay_command, relay_port)  # and comes back
    begin, cpu = time.perf_counter(), time.process_time()
    done = session.shared.wait_uploaded(3600)
    took, used = time.perf_counter() - begin, time.process_time() - cpu
    print(f"  upload once the store is back, {window} at a time: {took:.1f} s "
          f"({count / took:.0f} events/s, {used / count * 1000:.2f} ms CPU per event in this "
          f"process, all shared: {done})")
    session.close()
    return relay


if __name__ == "__main__":
    main()
