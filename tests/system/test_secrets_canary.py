"""Secrets never reach a file, a log, a report or the screen: canaries through the real app.

Canary values are planted in the environment (DB_PASSWORD, SECRET_KEY, AWS_SECRET_ACCESS_KEY and
a name from the checklist's ``secrets``) and in the vars (a password inside a ``postgres://`` URL
default, an ``api_token`` default, a webhook URL's token given with ``--set``). The app is driven
in a real terminal (tmux): a command that prints them plainly, encoded (base64, URL, hex), split
by an escape sequence and split by a pause is run; checks against a local HTTP endpoint that
reflects what it was sent (an ``Authorization: Bearer`` header, the password) in its body and
headers are run; an item is ticked; the Deployment Log and Messages tabs are opened and saved.
The session is resumed from a shell that no longer has the secrets in its environment. Then the
headless ``check``, ``show``, ``report``, ``sessions`` and ``validate`` run.

Every file written (state dir, cache dir, session dir, run logs, saved reports and messages) and
every screen capture and printed output is searched for every canary in plain, base64,
URL-encoded and hex forms, with control sequences removed as well as raw.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote

import pytest

from e2e.tmux_screen import TmuxScreen, app_env, cli, need_tmux

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ENV_CANARIES = {
    "DB_PASSWORD": "CANARYdb/pw+111=",
    "SECRET_KEY": "canary-django-secret-Zt81x",
    "AWS_SECRET_ACCESS_KEY": "canaryAwsSecretKey0123456789abcdefghijKLMN",
    "CANARY_TOKEN": "canary-checklist-tok-4242",  # named in the checklist's secrets
}
URL_PASSWORD = "canary-url-pw-7Hq2"  # inside the dsn var's default
API_TOKEN = "canary-api-token-9f9f"  # the api_token var's default, sent as a bearer token
HOOK_TOKEN = "canary-hook-tok-5e5e"  # the webhook URL's path, given with --set
CANARIES = [*ENV_CANARIES.values(), URL_PASSWORD, API_TOKEN, HOOK_TOKEN]

# Nothing of a canary is written in the checklist's commands: they print what the environment
# and the vars hold, so a screen or file can only show it if masking failed.
CHECKLIST = """\
name: Canary deployment
vars:
  eb_env: canary-prod
  dsn: postgres://rs:canary-url-pw-7Hq2@127.0.0.1:5432/rs
  api_token: canary-api-token-9f9f
  echo_url: http://127.0.0.1:9
  notify_webhook_url: ""
secrets: [CANARY_TOKEN]
phases:
  - id: pre
    title: Pre-Deployment
    sections:
      - id: env
        title: Environment
        items:
          - id: echo-secrets
            text: A command that prints what it should not
            command: >-
              echo "token ${api_token}";
              printf 'plain %s %s\\n' "$DB_PASSWORD" "$SECRET_KEY";
              printf 'aws %s tok %s\\n' "$AWS_SECRET_ACCESS_KEY" "$CANARY_TOKEN";
              printf 'b64 %s\\n' "$(printf %s "$DB_PASSWORD" | base64)";
              printf 'hex %s\\n' "$(printf %s "$DB_PASSWORD" | od -An -tx1 | tr -d ' \\n')";
              printf 'basic %s\\n' "$(printf 'ana:%s' "$DB_PASSWORD" | base64)";
              python3 -c 'import os, urllib.parse as u;
              print("url", u.quote(os.environ["DB_PASSWORD"], safe=""))';
              printf 'esc %s\\033[1m%s end\\n' "$${DB_PASSWORD:0:8}" "$${DB_PASSWORD:8}";
              printf 'pause %s' "$${DB_PASSWORD:0:9}"; sleep 3;
              printf '%s end\\n' "$${DB_PASSWORD:9}";
              printf 'dsn %s\\n' "${dsn}";
              echo "ECHO-$((40 + 2))"
          - id: reflect
            text: An endpoint reflects what it was sent (body)
            check:
              type: http
              url: ${echo_url}/reflect
              headers: {Authorization: "Bearer ${api_token}", X-Db-Pass: "${env:DB_PASSWORD}",
                        X-Token: "${env:CANARY_TOKEN}"}
              expect_text: never-there
          - id: reflect-headers
            text: An endpoint reflects what it was sent (headers)
            check:
              type: security_headers
              url: ${echo_url}/reflect
              require: [x-echo-auth, x-echo-db, content-security-policy]
          - id: dsn
            text: "Connect with ${dsn}"
            check: {type: command, run: 'echo "connecting to ${dsn} as $DB_PASSWORD $SECRET_KEY"'}
          - id: tick-me
            text: Something the operator ticks (with ${api_token} and ${notify_webhook_url})
"""


POSTED: list[str] = []
"""Bodies the webhook received (the stakeholder message as sent)."""


class _Reflector(BaseHTTPRequestHandler):
    """Reflects the request's credentials back, in the body and in response headers, in the
    forms a careless server would use."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        auth = self.headers.get("Authorization", "")
        password = self.headers.get("X-Db-Pass", "")
        token = self.headers.get("X-Token", "")
        raw = password.encode()
        body = (f"auth={auth} db={password} tok={token} b64={base64.b64encode(raw).decode()} "
                f"url={quote(password, safe='')} hex={raw.hex()} "
                f"basic=Basic {base64.b64encode(b'ana:' + raw).decode()}").encode()
        self.send_response(403)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Server", f"reflector {auth}")
        self.send_header("X-Echo-Auth", auth)
        self.send_header("X-Echo-Db", password)
        self.send_header("Content-Security-Policy", f"default-src 'self'; report-uri /r?k={token}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 (a webhook)
        length = int(self.headers.get("Content-Length") or 0)
        POSTED.append(self.rfile.read(length).decode("utf-8", "replace"))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return  # quiet: the test reads what the app wrote, not the server's log


@pytest.fixture
def reflector() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Reflector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def screen() -> Iterator[TmuxScreen]:
    need_tmux()
    term = TmuxScreen(120, 40)
    yield term
    assert term.close() == [], "the app outlived its terminal (killed now)"


def forms(value: str) -> set[str]:
    """How a value may leak: as is, base64 (padded or not, URL-safe), URL-encoded, hex."""
    raw = value.encode()
    b64 = base64.b64encode(raw).decode()
    return {value, b64, b64.rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("="),
            quote(value, safe=""), quote_plus(value, safe=""), raw.hex(), raw.hex().upper()}


_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?"
                      r"|[\x00-\x08\x0b-\x1f\x7f]")


def leaks_in(text: str, where: str) -> list[str]:
    """Every canary form found in ``text`` (raw, without control sequences, URL-decoded; and
    with the escapes ``check``/``show`` print as ``\\u001b`` removed)."""
    views = {text, _CONTROL.sub("", text), re.sub(r"\\u00[0-9a-f]{2}\[[0-9;]*m", "", text)}
    views.add(unquote(next(iter(views))))
    found = []
    for canary in CANARIES:
        for form in forms(canary):
            if any(form in view for view in views):
                found.append(f"{canary!r} as {form!r} in {where}")
    return found


def journal_has(session_dir: Path, predicate: Callable[[dict], bool]) -> bool:
    journal = session_dir / "events.jsonl"
    if not journal.exists():
        return False
    events = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return any(predicate(event) for event in events)


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0,
               screen: TmuxScreen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    shown = f"; screen:\n{screen.text()}" if screen is not None else ""
    raise AssertionError(f"timed out waiting for {what}{shown}")


def test_no_canary_in_any_file_or_screen(tmp_path: Path, screen: TmuxScreen,
                                         reflector: str) -> None:
    state, config, cache, work = (tmp_path / name for name in ("state", "config", "cache", "work"))
    work.mkdir()
    path = tmp_path / "canary.yaml"
    path.write_text(CHECKLIST)
    bare = {**app_env(state, config), "RSDEPLOY_CACHE_DIR": str(cache)}
    env = {**bare, **ENV_CANARIES}
    sets = ["--set", f"echo_url={reflector}",
            "--set", f"notify_webhook_url={reflector}/hooks/services/{HOOK_TOKEN}"]
    captures: list[tuple[str, str]] = []

    def capture(what: str) -> str:
        text = screen.text()
        captures.append((what, text))
        captures.append((f"{what} (with escapes)", screen.tmux(
            "capture-pane", "-p", "-e", "-t", screen.session, check=False).stdout))
        return text

    def launch(args: list[str], with_env: dict[str, str]) -> None:
        # in a directory of the test's own: the tabs save their files into the working dir
        argv = [sys.executable, "-m", "rsdeploy_tui", *args]
        screen.start(["sh", "-c", f"cd {shlex.quote(str(work))} && exec {shlex.join(argv)}"],
                     with_env)

    def quit_app() -> None:
        pid = screen.pid()
        screen.keys("1")
        screen.keys("q")
        wait_until(lambda: not alive(pid), "the app to quit")
        screen.kill_session()

    # -- the TUI, with the secrets in its environment ------------------------------------------
    launch(["--checklist", str(path), "--operator", "ana", *sets], env)
    screen.wait_for(lambda t: "New deployment" in t, what="the version/sprint question")
    screen.keys("Escape")
    screen.wait_for(lambda t: "0/5 done" in t and "New deployment" not in t, what="the runbook")
    sessions_dir = state / "sessions"
    (session_dir,) = [p for p in sessions_dir.iterdir() if p.is_dir()]
    session_id = session_dir.name

    screen.keys("r")  # run echo-secrets
    wait_until(lambda: journal_has(session_dir, lambda e: e["kind"] == "command_finished"),
               "the command's end in the journal")
    # the run's own output on screen ("ECHO-$((40 + 2))" in the command shows otherwise)
    screen.wait_for(lambda t: "ECHO-42" in t, what="the run output")
    capture("after the run")

    for item in ("reflect", "reflect-headers", "dsn"):
        screen.keys("j")
        screen.keys("c")
        wait_until(lambda item=item: journal_has(session_dir, lambda e: e["kind"] ==
                                                 "check_result" and e["item"] == f"pre.{item}"),
                   f"the {item} check's result in the journal")
        # the screen re-renders from the recorded result and says so
        screen.wait_for(lambda t, item=item: f"Check of pre.{item}:" in t,
                        what=f"the {item} check's result on screen")
        capture(f"after the {item} check")
    screen.keys("j")
    screen.keys("Space")
    screen.wait_for(lambda t: "1/5 done" in t, what="the tick")
    capture("after the tick")

    screen.keys("2")  # Deployment Log
    screen.wait_for(lambda t: "Canary deployment" in t and "Save log" in t, what="the log tab")
    capture("the deployment log tab")
    screen.keys("s")
    # saved into the session directory (or the working directory, as it once was)
    wait_until(lambda: list(tmp_path.rglob("deployment-log-*.md")), "the saved deployment log")
    screen.keys("3")  # Messages
    screen.wait_for(lambda t: "Post" in t and "Refill" in t, what="the messages tab")
    capture("the messages tab")
    screen.keys("s")
    wait_until(lambda: [p for p in tmp_path.rglob("*.txt") if session_id in p.name],
               "the saved message")
    capture("after saving the message")
    POSTED.clear()
    screen.keys("p")  # post to the webhook (the reflector)
    wait_until(lambda: journal_has(session_dir, lambda e: e["kind"] == "fact" and str(
        e["data"].get("name", "")).startswith("notification.")),
        "the post's result recorded", screen=screen)
    assert POSTED, "the webhook got nothing"
    capture("after posting the message")
    quit_app()

    # -- resumed from a shell without the secrets: what was seen is still masked ---------------
    launch(["resume", session_id, *sets], bare)
    screen.wait_for(lambda t: "1/5 done" in t, what="the resumed runbook")
    capture("the resumed runbook")
    screen.keys("2")
    screen.wait_for(lambda t: "Save log" in t, what="the log tab after resume")
    capture("the deployment log after resume")
    quit_app()

    # -- headless ------------------------------------------------------------------------------
    printed: list[tuple[str, str]] = []
    runs = [
        (["check", "--checklist", str(path), "--session", session_id, "--json", *sets], env),
        (["check", "--checklist", str(path), *sets], env),
        (["show", session_id, "--json"], env),
        (["show", session_id], env),
        (["show", session_id], bare),
        (["sessions", "--json"], env),
        (["report", session_id, "-o", str(work / "report.md")], env),
        (["report", session_id, "--format", "json"], bare),
        (["validate", str(path), "--json"], env),
    ]
    for args, with_env in runs:
        result = cli(*args, env=with_env)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        printed.append((" ".join(args[:2]), result.stdout + result.stderr))
    assert "pre.reflect" in printed[0][1]  # the checks really ran and reported
    assert (work / "report.md").exists()

    # -- the search ----------------------------------------------------------------------------
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != path]
    names = {p.name for p in written}
    assert {"events.jsonl", "session.json"} <= names
    assert any(p.suffix == ".log" for p in written)
    assert any(p.suffix == ".pickle" for p in written) or not list(cache.rglob("*")), \
        "the cache dir holds something else than parsed checklists"
    leaks: list[str] = []
    for file in written:
        leaks += leaks_in(file.read_bytes().decode("utf-8", "replace"), str(file))
    for what, text in captures:
        leaks += leaks_in(text, f"screen {what}")
    for what, text in printed:
        leaks += leaks_in(text, f"output of {what}")
    for body in POSTED:
        leaks += leaks_in(body, "the message posted to the webhook")
    assert leaks == []
    # the canaries really went through: masked, not absent
    run_log = next(p for p in written if p.suffix == ".log").read_text()
    assert run_log.count("****") >= 8, run_log
    assert "ECHO-42" in run_log
    evidence = [json.loads(line) for line in (session_dir / "events.jsonl").read_text()
                .splitlines() if '"check_result"' in line]
    assert any("Bearer ****" in json.dumps(e) for e in evidence), evidence
