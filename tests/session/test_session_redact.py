"""Secrets never reach a session file: canaries planted in the environment and in typed text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.session import Redactor, SessionStore

REPO = Path(__file__).resolve().parents[2]
ENV_CANARIES = {
    "DB_PASSWORD": "canary-db-pw-5e1f",
    "SECRET_KEY": "canary-django-key-77aa",
    "ADMIN_PASSWORD": "canary-admin-0b0b",
    "AWS_SECRET_ACCESS_KEY": "CanaryAwsSecret/0123456789abcdefghijklmnopq",
    "AWS_SESSION_TOKEN": "canary-session-token-9999",
    "CANARY_SECRET": "canary-checklist-secret-4242",  # named in the checklist's secrets
}
SHAPED_CANARIES = [
    "AKIAZZCANARY00000001",  # access key id
    "Sh4pedUrlPw",  # postgres://app:<it>@db
    "Pl41nPw0rd",  # password=<it>
    "dj4ngoK3yInline",  # SECRET_KEY=<it>
    "PgPw1234Inline",  # PGPASSWORD=<it>
    "wJalrXUtnFEMIK7MDENGbPxRfiCYCANARY0KEY00",  # 40 chars after aws_secret_access_key
    "MIIEcanaryPrivateKeyBody",  # inside a private key block
]
SHAPED_TEXT = (
    "creds AKIAZZCANARY00000001 and postgres://app:Sh4pedUrlPw@db:5432/rs "
    "password=Pl41nPw0rd SECRET_KEY=dj4ngoK3yInline PGPASSWORD=PgPw1234Inline "
    "aws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYCANARY0KEY00\n"
    "-----BEGIN OPENSSH PRIVATE KEY-----\nMIIEcanaryPrivateKeyBody\n"
    "-----END OPENSSH PRIVATE KEY-----"
)


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV_CANARIES.items():
        monkeypatch.setenv(name, value)


def every_canary() -> list[str]:
    return [*ENV_CANARIES.values(), *SHAPED_CANARIES]


def assert_no_canary_in_files(state: Path) -> None:
    files = [p for p in state.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"events.jsonl", "session.json", "lock"}
    for path in files:
        content = path.read_bytes().decode("utf-8", "replace")
        for canary in every_canary():
            assert canary not in content, f"{canary} found in {path}"


def test_no_canary_in_any_file(planted: None, tmp_path: Path, checklist: Checklist) -> None:
    state = tmp_path / "state"
    store = SessionStore(state / "sessions")
    values = " ".join(ENV_CANARIES.values())
    s = store.create(checklist, vars={"db_url": f"postgres://app:{ENV_CANARIES['DB_PASSWORD']}@db",
                                      "note": SHAPED_TEXT}, operator="ana")
    s.record("note", "pre.notify", text=f"typed by the operator: {values} {SHAPED_TEXT}")
    s.record("skip", "pre.notify", reason=f"because {ENV_CANARIES['ADMIN_PASSWORD']}")
    s.record("check_result", "pre.db-backup", status="fail", summary=SHAPED_TEXT,
             evidence={"dsn": f"postgresql://u:{ENV_CANARIES['DB_PASSWORD']}@h/db",
                       "password": "Pl41nPw0rd", "nested": [{"lines": SHAPED_TEXT.split("\n")}]})
    s.record("command_started", "deploy.eb-deploy", run="r1", pid=1, log="r1.log",
             command=f"PGPASSWORD={ENV_CANARIES['DB_PASSWORD']} pg_dump", confirmed=values)
    s.record("command_finished", "deploy.eb-deploy", run="r1", exit_code=0, duration_s=1.0,
             tail=[*SHAPED_TEXT.split("\n"), values])
    s.record("fact", name="backup_key", value=f"s3://b/{ENV_CANARIES['CANARY_SECRET']}.dump")
    s.record("gate_override", phase="deploy", reason=values)
    s.record("rollback_started", reason=SHAPED_TEXT, trigger="errors")
    s.close()
    resumed = store.open(s.id, operator=f"bob {ENV_CANARIES['SECRET_KEY']}")
    assert_no_canary_in_files(state)  # while the lock file names the holder
    resumed.close()
    assert_no_canary_in_files(state)
    assert "****" in (s.dir / "events.jsonl").read_text()

    env = {**os.environ, "RSDEPLOY_STATE_DIR": str(state), "PYTHONPATH": str(REPO / "src")}
    for args in (["show", "--json"], ["show"], ["sessions", "--json"]):
        shown = subprocess.run([sys.executable, "-m", "rsdeploy_tui", *args], env=env,
                               capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
        for canary in every_canary():
            assert canary not in shown.stdout + shown.stderr, f"{canary} shown by {args}"


def test_redactor_text() -> None:
    r = Redactor(["MY_TOKEN"], environ={"MY_TOKEN": "tok-abcdef", "DB_PASSWORD": "pw",
                                        "SECRET_KEY": "sekrit-value"})
    assert r.text("token tok-abcdef, key sekrit-value.") == "token ****, key ****."
    assert r.text("a pw in a pwd-less sentence") == "a pw in a pwd-less sentence"  # < 4 chars
    assert r.text("eb deploy rs-prod --label v2.3.0") == "eb deploy rs-prod --label v2.3.0"
    assert r.text("https://example.com:8443/health") == "https://example.com:8443/health"
    assert r.text("postgres://app:s3cr3t@db/rs") == "postgres://app:****@db/rs"
    assert r.text("host=db password='abc' user=x") == "host=db password='****' user=x"
    assert r.text("id ASIAABCDEFGHIJKLMNOP") == "id ****"
    assert r.text("-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----") \
        == "****"


def test_redactor_value_and_lines() -> None:
    r = Redactor(environ={})
    assert r.value({"password": "plain", "db_password": "x1", "count": 3,
                    "items": ("a", "password=b")}) == {
        "password": "****", "db_password": "****", "count": 3, "items": ["a", "password=****"]}
    lines = ["ok", "-----BEGIN PRIVATE KEY-----", "MIIB", "QUJD", "-----END PRIVATE KEY-----",
             "done"]
    assert r.lines(lines) == ["ok", "****", "****", "****", "****", "done"]
    assert r.value(None) is None and r.value(1.5) == 1.5


def test_secret_set_after_the_session_started_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    r = Redactor(["LATE_SECRET"], environ=os.environ)
    assert r.text("value late-secret-value") == "value late-secret-value"
    monkeypatch.setenv("LATE_SECRET", "late-secret-value")  # the app asked for it later
    assert r.text("value late-secret-value") == "value ****"


def test_api_tokens_and_client_secrets_are_secret_shaped() -> None:
    """`--set api_token=...` lands in the session's vars: found with the operator in tmux."""
    r = Redactor(environ={})
    assert r.value({"api_token": "tok-7f7f", "client_secret": "cs-8e8e", "eb_env": "rs-prod"}) \
        == {"api_token": "****", "client_secret": "****", "eb_env": "rs-prod"}
    assert r.text("API_TOKEN=tok-7f7f OAUTH_CLIENT_SECRET=cs-8e8e") \
        == "API_TOKEN=**** OAUTH_CLIENT_SECRET=****"


@pytest.mark.parametrize(("text", "expected"), [
    ("pre.db-backup", "pre.db-backup"),
    ("Production database backed up", "Production database backed up"),
    ("AKIAZZCANARY00000001 in a log", "**** in a log"),
    ("aws_secret_access_key wJalrXUtnFEMIK7MDENGbPxRfiCYCANARY0KEY00",
     "aws_secret_access_key ****"),
    ("AWS Secret: wJalrXUtnFEMIK7MDENGbPxRfiCYCANARY0KEY00", "AWS Secret: ****"),
    # long s: (?i) reads it as s, so the cheap "aws" screen must not skip it
    ("aw\u017f secret wJalrXUtnFEMIK7MDENGbPxRfiCYCANARY0KEY00", "aw\u017f secret ****"),
    ("postgres://app:Sh4pedUrlPw@db:5432/rs", "postgres://app:****@db:5432/rs"),
    ("password=Pl41nPw0rd", "password=****"),
    ("SECRET_KEY: dj4ngoK3yInline", "SECRET_KEY: ****"),
    ("token = 'abc123'", "token = '****'"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "****"),
    ("x" * 300 + "api_key=zzz", "x" * 300 + "api_key=****"),
])
def test_secret_shapes_are_masked(text: str, expected: str) -> None:
    """Expected values written out by hand (not rebuilt from the module's own patterns)."""
    assert Redactor(environ={}).text(text) == expected


# -- secrets in other forms (#17.2) ----------------------------------------------------------
SPLIT_PW = "CANARYdb/pw+111="


def test_an_escape_sequence_inside_a_value_does_not_hide_it() -> None:
    r = Redactor(environ={"DB_PASSWORD": SPLIT_PW})
    assert r.text("db CANARYdb\x1b[1m/pw+111= ok") == "db **** ok"
    assert r.text("\x1b[31mCANARY\x1b[0mdb/pw+111=\x1b[0m") == "****"
    # colours on a line with nothing to mask are kept
    assert r.text("\x1b[32mhealthy\x1b[0m") == "\x1b[32mhealthy\x1b[0m"
    # a value that itself holds an escape is found as printed and as a screen shows it
    r = Redactor(environ={"SECRET_KEY": "zz\x1b[1mtop-sekrit"})
    assert r.text("key=zz\x1b[1mtop-sekrit.") == "key=****."
    assert r.text("shown zztop-sekrit.") == "shown ****."


def test_encoded_forms_of_a_value_are_masked() -> None:
    r = Redactor(environ={"DB_PASSWORD": SPLIT_PW})
    assert r.text("Q0FOQVJZZGIvcHcrMTExPQ==") == "****"  # base64
    assert r.text("b64url Q0FOQVJZZGIvcHcrMTExPQ end") == "b64url **** end"
    assert r.text("pw=CANARYdb%2Fpw%2B111%3D&x=1") == "pw=****&x=1"  # URL-encoded
    assert r.text("hex 43414e41525964622f70772b3131313d") == "hex ****"
    assert r.text("HEX 43414E41525964622F70772B3131313D") == "HEX ****"
    # HTTP Basic: base64("ana:" + value), the value at another alignment, under a plain label
    assert r.text("creds YW5hOkNBTkFSWWRiL3B3KzExMT0= sent") == "creds **** sent"
    assert r.text("creds dTpDQU5BUllkYi9wdysxMTE9 sent") == "creds **** sent"
    assert r.text("nothing to see: Q0FOQVJZ") == "nothing to see: Q0FOQVJZ"


def test_authorization_headers_and_bearer_tokens_are_masked() -> None:
    r = Redactor(environ={})
    assert r.text("Authorization: Bearer eyJhbGciOi.J9.abc") == "Authorization: Bearer ****"
    assert r.text("curl -H 'Authorization: Basic dXNlcjpwdw==' https://x") \
        == "curl -H 'Authorization: Basic ****' https://x"
    assert r.text('{"authorization": "token ghp_0123456789"}') \
        == '{"authorization": "token ****"}'
    assert r.text("sent bearer 0123456789abcdef to it") == "sent bearer **** to it"
    assert r.value({"headers": {"Authorization": "Bearer x", "Accept": "*/*"}}) \
        == {"headers": {"Authorization": "****", "Accept": "*/*"}}


def test_values_of_secret_looking_vars_are_masked_wherever_they_appear() -> None:
    from rsdeploy_tui.session.redact import secret_var_values

    values = {"api_token": "tok-reflected-9f9f", "eb_env": "rs-prod",
              "dsn": "postgres://rs:url-pw-3c3c@db/rs",
              "notify_webhook_url": "https://hooks.example.com/services/T01/B02/hookTok77"}
    r = Redactor(environ={})
    r.add_values(secret_var_values(values))
    assert r.text("server echoed tok-reflected-9f9f and url-pw-3c3c") \
        == "server echoed **** and ****"
    assert r.text("path /services/T01/B02/hookTok77") == "path /****"
    assert r.text("rs-prod") == "rs-prod"
    assert r.value(values) == {"api_token": "****", "eb_env": "rs-prod",
                               "dsn": "postgres://rs:****@db/rs",
                               "notify_webhook_url": "https://hooks.example.com/****"}


def test_a_session_remembers_its_secrets_without_keeping_them(
        tmp_path: Path, checklist: Checklist, monkeypatch: pytest.MonkeyPatch) -> None:
    """Resumed in a shell without the variable, the value is still masked; the files hold
    neither the value nor an unsalted hash of it."""
    import hashlib

    monkeypatch.setenv("DB_PASSWORD", SPLIT_PW)
    store = SessionStore(tmp_path / "state" / "sessions")
    s = store.create(checklist, vars={"api_token": "tok-var-secret-1a1a"}, operator="ana")
    s.close()
    monkeypatch.delenv("DB_PASSWORD")
    later = store.open(s.id, operator="bob")
    assert later.redactor.text(f"db={SPLIT_PW} tok-var-secret-1a1a") == "db=**** ****"
    assert later.redactor.text("CANARYdb%2Fpw%2B111%3D") == "****"
    later.record("note", "pre.notify", text=f"pasted {SPLIT_PW}")
    assert later.events[-1].data["text"] == "pasted ****"
    later.close()
    viewer = store.open(s.id, read_only=True)
    assert viewer.redactor.text(f"({SPLIT_PW})") == "(****)"
    journal = (s.dir / "events.jsonl").read_bytes()
    for value in (SPLIT_PW, "tok-var-secret-1a1a"):
        for form in (value, hashlib.sha256(value.encode()).hexdigest(),
                     hashlib.md5(value.encode()).hexdigest(),
                     hashlib.blake2b(value.encode(), digest_size=16).hexdigest()):
            assert form.encode() not in journal


def test_a_secret_set_mid_session_is_remembered(
        tmp_path: Path, checklist: Checklist, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    store = SessionStore(tmp_path / "state" / "sessions")
    s = store.create(checklist, operator="ana")
    monkeypatch.setenv("SECRET_KEY", "late-django-key-5d5d")  # asked for by the app later
    s.record("tick", "pre.notify")
    assert [e.kind for e in s.events][-2:] == ["secrets_remembered", "tick"]
    s.close()
    monkeypatch.delenv("SECRET_KEY")
    viewer = store.open(s.id, read_only=True)
    assert viewer.redactor.text("k=late-django-key-5d5d") == "k=****"


def test_a_viewer_learns_digests_the_driver_records_later(
        tmp_path: Path, checklist: Checklist, monkeypatch: pytest.MonkeyPatch) -> None:
    """`show` beside a live session: a secret the driver meets mid-session is masked in the
    viewer's refreshed redactor too, whose environment never had it."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    store = SessionStore(tmp_path / "state" / "sessions")
    driver = store.create(checklist, operator="ana")
    viewer = store.open(driver.id, read_only=True)
    viewer.redactor.add_values(["viewer-only-value-1"])
    monkeypatch.setenv("SECRET_KEY", "late-django-key-6e6e")
    driver.record("tick", "pre.notify")
    monkeypatch.delenv("SECRET_KEY")
    viewer.refresh()
    assert viewer.redactor.text("late-django-key-6e6e viewer-only-value-1") == "**** ****"
    driver.close()


def test_an_environment_variable_named_like_a_secret_is_one() -> None:
    r = Redactor(environ={"GITHUB_TOKEN": "ghp-canary-1111", "SMTP_PASSWORD": "smtp-pw-2222",
                          "EB_ENV": "rs-prod-env"})
    assert r.text("ghp-canary-1111 smtp-pw-2222 rs-prod-env") == "**** **** rs-prod-env"


def test_a_secret_named_value_recorded_as_a_fact_is_masked_and_remembered(
        tmp_path: Path, checklist: Checklist) -> None:
    """A value given in the app for a var named like a secret (recorded as name + value)."""
    store = SessionStore(tmp_path / "state" / "sessions")
    s = store.create(checklist, operator="ana")
    s.record("fact", name="api_token", value="tok-set-in-app-3f3f")
    s.record("note", "pre.notify", text="curl -H 'X-Key: tok-set-in-app-3f3f'")
    s.close()
    journal = (s.dir / "events.jsonl").read_text()
    assert "tok-set-in-app-3f3f" not in journal
    assert store.open(s.id, read_only=True).redactor.text("=tok-set-in-app-3f3f") == "=****"
