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


@pytest.mark.parametrize("text", [
    "pre.db-backup", "Production database backed up", "AKIAZZCANARY00000001 in a log",
    "aws_secret_access_key wJalrXUtnFEMIK7MDENGbPxRfiCYCANARY0KEY00",
    "AWS Secret: wJalrXUtnFEMIK7MDENGbPxRfiCYCANARY0KEY00",
    "aw\u017f secret wJalrXUtnFEMIK7MDENGbPxRfiCYCANARY0KEY00",  # long s: (?i) reads it as s
    "postgres://app:Sh4pedUrlPw@db:5432/rs", "password=Pl41nPw0rd", "SECRET_KEY: dj4ngoK3yInline",
    "token = 'abc123'", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
    "x" * 300 + "api_key=zzz",
])
def test_skipping_patterns_that_cannot_match_changes_nothing(text: str) -> None:
    """The cheap checks before each pattern only skip work: the result is what every pattern
    run in turn gives."""
    from rsdeploy_tui.session import redact

    expected = redact._PRIVATE_KEY.sub(redact.MASK, text)
    expected = redact._AWS_KEY_ID.sub(redact.MASK, expected)
    expected = redact._AWS_SECRET.sub(lambda m: m.group(1) + redact.MASK, expected)
    expected = redact._URL_PASSWORD.sub(
        lambda m: m.group(1) + redact.MASK + m.group(3), expected)
    expected = redact._LABELLED.sub(lambda m: m.group(1) + redact.MASK, expected)
    assert Redactor(environ={}).text(text) == expected
