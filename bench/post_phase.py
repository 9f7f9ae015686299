"""Benchmark: `a` on the bundled Post-Deployment Verification phase (58 items, 19 checks).

Everything local: HTTPS/HTTP servers with a trustme CA (tests/checks/web_servers.py), moto's
server for S3/CloudWatch/Logs and the EB API stub for Elastic Beanstalk, the real TUI headless
(``App.run_test``). The servers run in a process of their own, as real endpoints do: in the app's
process their request handling would hold the app's GIL and be counted as the app's latency. PostgreSQL is not started: the two database checks answer at once with
"no database settings" (their cost is not part of these figures).

Prints, from the same run:
- key-press latency (a key posted to the app as the terminal driver does, until the highlighted
  item has moved), p50/p99, on an idle screen and while the phase's checks land
  (target: p99 < 50 ms);
- the wall time of the whole phase (from `a` until the last result is recorded and the screen
  re-rendered from it), in rounds without keys and in rounds while keys are typed, beside its
  slowest single check (target: wall <= 1.3x slowest).

    PYTHONPATH=src python bench/post_phase.py [--keys 60]

Not a test: it never asserts, it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "tests" / "checks"),
                str(ROOT / "bench")]

from web_servers import web_servers  # noqa: E402

ENV = "rs-systems-prod"
BUCKET = "rs-bench-backups"


def start_aws() -> tuple[Any, Any, dict[str, str]]:
    """moto (S3, CloudWatch, Logs) and the EB stub, seeded like a healthy production."""
    import boto3
    from moto.server import ThreadedMotoServer

    from support.eb_stub import EbApiStub

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    stub = EbApiStub()
    stub.start()
    stub.add_environment(ENV)
    env = dict(AWS_ACCESS_KEY_ID="AKIABENCH", AWS_SECRET_ACCESS_KEY="bench-secret",
               AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=f"http://{host}:{port}",
               AWS_ENDPOINT_URL_ELASTIC_BEANSTALK=stub.url)
    os.environ.update(env)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="emergency/nightly/db-backup.dump",
                  Body=b"PGDMP" + os.urandom(64 * 1024))
    logs = boto3.client("logs")
    group = f"/aws/elasticbeanstalk/{ENV}/var/log/web.stdout.log"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="i-0bench")
    logs.put_log_events(logGroupName=group, logStreamName="i-0bench", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": "INFO GET /health 200"}])
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName=f"{ENV}-5xx", MetricName="5XXError", Namespace="AWS/ApplicationELB",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanThreshold")
    return moto, stub, env


def serve(tmp: str, conn: Any) -> None:
    """The servers' process: start them, send their addresses, serve until told to stop."""
    moto, stub, env = start_aws()
    with web_servers(Path(tmp)) as web:
        conn.send({"env": env, "https": web.https.url, "http": web.http.url,
                   "ca_file": str(web.ca_file)})
        conn.recv()  # the bench is done
    stub.stop()
    moto.stop()


def flat_profile(profiler: Any, top: int = 25) -> str:
    """Where the loop's thread spent the rounds, by module (self time), then by our callers."""
    import collections

    by_module: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()

    def walk(frame: Any, caller: str) -> None:
        path = frame.file_path_short or ""
        module = path.split("site-packages/")[-1].split("/")[0] if "site-packages" in path \
            else path.rsplit("/", 1)[-1]
        if "rsdeploy_tui" in path:
            caller = f"{path.rsplit('/', 1)[-1]}:{frame.function}"
        by_module[module] += frame.total_self_time
        ours[caller] += frame.total_self_time
        for child in frame.children:
            walk(child, caller)

    walk(profiler.last_session.root_frame(), "(not below our code)")
    total = sum(by_module.values()) or 1
    lines = ["self time by library:"]
    lines += [f"{seconds:8.2f} s {seconds / total:6.1%}  {name}"
              for name, seconds in by_module.most_common(12)]
    lines.append("time by the innermost frame of ours it ran under:")
    lines += [f"{seconds:8.2f} s {seconds / total:6.1%}  {name}"
              for name, seconds in ours.most_common(top)]
    return "\n".join(lines)


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each thread of this process, by thread name (from /proc): the threads
    besides the loop's hold the GIL while they compute, and each such slice is a wait for a key."""
    import threading

    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    ticks = os.sysconf("SC_CLK_TCK")
    cpu: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        name = names.get(int(task.name), f"tid {task.name}")
        name = re.sub(r"[_-]?\d+$", "", name) or name  # ThreadPoolExecutor-0_3 -> one row
        cpu[name] = cpu.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return cpu


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def key_latency(app: Any, screen: Any, count: int, busy: Any = None) -> list[float]:
    """Seconds from a key posted (as the driver posts it) to the cursor having moved."""
    from textual import events

    latencies: list[float] = []
    direction = "down"
    for _ in range(count):
        if busy is not None and not busy():
            break
        item_list = screen.current_list
        before = item_list.highlighted
        if before is not None and before >= item_list.option_count - 2:
            direction = "up"
        elif before is not None and before <= 1:
            direction = "down"
        began = time.perf_counter()
        app.post_message(events.Key(direction, None))
        while item_list.highlighted == before:
            await asyncio.sleep(0.0005)
            if time.perf_counter() - began > 5:
                break
        latencies.append(time.perf_counter() - began)
        await asyncio.sleep(0.01)  # a fast typist, not a flood
    return latencies


async def run(keys: int, repeat: int, base_url: str, http_url: str, ca_file: str,
              state: Path, profile: bool = False, stalls: bool = False) -> None:
    from textual import events

    from rsdeploy_tui.app import make_app
    from rsdeploy_tui.checklist import load_checklist
    from rsdeploy_tui.checklist.vars import resolve_vars
    from rsdeploy_tui.session import SessionStore

    checklist = load_checklist()
    for name in ("DB_HOST", "DB_NAME"):
        os.environ.pop(name, None)
    values = resolve_vars(checklist, {"base_url": base_url, "http_url": http_url,
                                      "tls_ca_file": ca_file, "backup_bucket": BUCKET,
                                      "eb_env": ENV}, config={})
    store = SessionStore(state / "sessions")
    session = store.create(checklist, vars=values, operator="bench")
    import gc

    gc.disable()  # as `rsdeploy-tui` starts it (cli.py); the app freezes start-up's objects
    app = make_app(checklist, session, values=values, use_git=False, ascii_only=False)
    async with app.run_test(size=(110, 34)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("3")  # Post-Deployment Verification
        await pilot.pause(0.5)
        if not hasattr(app.screen, "current_list"):
            await pilot.press("escape")  # "Run the phase's checks now?": not yet, idle first
            await pilot.pause(0.3)
        screen = app.screen
        idle = await key_latency(app, screen, keys)
        landing: list[float] = []
        rounds: list[tuple[float, float, str, float]] = []
        seen = 0
        watch = None
        if stalls:
            from stalls import StallWatch

            watch = StallWatch(asyncio.get_running_loop())
        profiler = None
        if profile:  # what the event loop's thread does while the checks land
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001, async_mode="disabled")
        threads_before = thread_cpu()
        for number in range(repeat):
            # every other round without keys: the phase's own wall time, beside the same
            # phase while a fast typist (a key every 10 ms) takes the loop's time too
            typing = number % 2 == 0
            if profiler is not None:
                profiler.start()
            if watch is not None and not watch._thread.is_alive():
                watch.start()
            events_before = len(session.events)
            started = time.perf_counter()
            loop_cpu = time.thread_time()  # this is the event loop's thread
            # posted as the driver posts it: pilot.press would wait for the app to go idle,
            # i.e. for every check to land, and no key could be measured while they do
            app.post_message(events.Key("a", "a"))
            while not screen.checking.running_count and time.perf_counter() - started < 5:
                await asyncio.sleep(0.0005)
            started_checks = screen.checking.running_count

            def landing_now() -> bool:
                """Until every result of the round is recorded and the screen re-rendered
                from them (a check leaves ``running_count`` before its result is written)."""
                recorded = sum(1 for e in session.events[events_before:]
                               if e.kind == "check_result")
                return (recorded < started_checks or screen._recording > 0
                        or screen._render_due is not None)

            if typing:
                landing += await key_latency(app, screen, keys * 10, busy=landing_now)
            while landing_now():
                await asyncio.sleep(0.0005)
            wall = time.perf_counter() - started
            loop_cpu = time.thread_time() - loop_cpu
            if profiler is not None:
                profiler.stop()
            results = [e for e in session.events if e.kind == "check_result"][seen:]
            seen += len(results)
            slowest = max(results, key=lambda e: float(e.data.get("duration_s") or 0))
            rounds.append((wall, float(slowest.data["duration_s"]), str(slowest.item), loop_cpu,
                           typing))
            await pilot.pause(0.3)
        threads = thread_cpu()
    session.close()
    if watch is not None:
        watch.stop()
        print(watch.report())
    if profiler is not None:
        print(profiler.output_text(unicode=False, color=False, show_all=os.environ.get("BENCH_SHOW_ALL") == "1"))
        print(flat_profile(profiler))
    statuses: dict[str, int] = {}
    for event in results:
        statuses[event.data["status"]] = statuses.get(event.data["status"], 0) + 1
    ms = 1000
    print(f"Post-Deployment Verification: {len(results)} checks, {statuses}")
    for event in results:  # a check that errs here measures nothing of its real work
        if event.data["status"] == "error":
            print(f"  error {event.item}: {event.data['summary'][:150]}")
    print(f"{'keys':<24}{'n':>5}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for label, values_ in (("idle screen", idle), ("while checks land", landing)):
        if values_:
            print(f"{label:<24}{len(values_):>5}{statistics.median(values_) * ms:>9.1f}"
                  f"{percentile(values_, 0.99) * ms:>9.1f}{max(values_) * ms:>9.1f}")
        else:
            print(f"{label:<24}    0  (the checks finished before a key could be sent)")
    print(f"{'round':<8}{'keys':<8}{'phase wall s':>13}{'slowest check s':>17}"
          f"{'wall/slowest':>14}{'loop CPU s':>12}  slowest")
    for number, (wall, slow_s, qid, cpu, typing) in enumerate(rounds, 1):
        print(f"{number:<8}{'typing' if typing else 'none':<8}{wall:>13.2f}{slow_s:>17.2f}"
              f"{wall / max(slow_s, 1e-6):>13.2f}x{cpu:>12.2f}  {qid}")
    for typing in (False, True):
        ratios = [wall / max(slow_s, 1e-6) for wall, slow_s, _, _, t in rounds[1:] if t == typing]
        if ratios:  # the first round (imports, first connections) stands apart
            print(f"wall/slowest, rounds 2-{len(rounds)} {'while typing' if typing else 'no keys'}"
                  f": median {statistics.median(ratios):.2f}x, max {max(ratios):.2f}x")
    print("CPU of the app's threads over the rounds (pauses between rounds included):")
    for name, seconds in sorted(threads.items(), key=lambda pair: -pair[1]):
        spent = seconds - threads_before.get(name, 0.0)
        if spent >= 0.01:
            print(f"  {spent:6.2f} s  {name}")
    print("loop CPU: what the event loop's thread itself computed during the round (keys "
          "included); unlike the times, it does not grow with the machine's load")
    print("targets: key p99 < 50 ms while checks land; phase wall <= 1.3x its slowest check")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=60, help="keys on the idle screen")
    parser.add_argument("--rounds", type=int, default=10,
                        help="times `a` runs the phase (every other one while keys are typed)")
    parser.add_argument("--profile", action="store_true",
                        help="print where the event loop's thread spends the rounds (pyinstrument)")
    parser.add_argument("--stalls", action="store_true",
                        help="print what held the event loop for over 30 ms during the rounds")
    args = parser.parse_args()
    import multiprocessing

    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = multiprocessing.Pipe()
        servers = multiprocessing.get_context("spawn").Process(target=serve, args=(tmp, theirs),
                                                               daemon=True)
        servers.start()
        try:
            web = ours.recv()
            os.environ.update(web["env"])
            os.environ["RSDEPLOY_STATE_DIR"] = str(Path(tmp) / "state")
            os.environ["RSDEPLOY_CONFIG_DIR"] = str(Path(tmp) / "config")
            os.environ["RSDEPLOY_CACHE_DIR"] = str(Path(tmp) / "cache")
            asyncio.run(run(args.keys, args.rounds, web["https"], web["http"], web["ca_file"],
                            Path(tmp), args.profile, args.stalls))
        finally:
            ours.send("stop")
            servers.join(10)


if __name__ == "__main__":
    main()
