"""${var} expansion: layering, nesting, environment, and secrets never expanded into output."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsdeploy_tui.checklist.model import Checklist, Phase
from rsdeploy_tui.checklist.vars import (
    MASK,
    VarError,
    check_overrides,
    expand,
    expand_params,
    load_config_vars,
    parse_overrides,
    resolve_vars,
)
from rsdeploy_tui.errors import UsageError


def checklist(**vars: str) -> Checklist:
    return Checklist(name="T", phases=(Phase(id="p", title="P"),), vars=vars,
                     secrets=("DB_PASSWORD",))


def test_defaults_config_and_overrides_layer_in_that_order() -> None:
    c = checklist(domain="example.com", base_url="https://${domain}", eb_env="prod")
    assert resolve_vars(c, config={})["base_url"] == "https://example.com"
    assert resolve_vars(c, config={"domain": "staging.example"})["base_url"] == (
        "https://staging.example")
    resolved = resolve_vars(c, {"domain": "127.0.0.1:8443"}, config={"domain": "staging"})
    assert resolved["base_url"] == "https://127.0.0.1:8443"
    assert resolve_vars(c, {"base_url": "http://x"}, config={})["base_url"] == "http://x"


def test_circular_vars_are_an_error() -> None:
    with pytest.raises(VarError, match="a -> b -> a"):
        resolve_vars(checklist(a="${b}", b="${a}"), config={})


def test_env_references_and_secret_masking() -> None:
    env = {"DB_HOST": "db.internal", "DB_PASSWORD": "hunter2-canary"}
    values = {"dsn": "postgres://u:${env:DB_PASSWORD}@${env:DB_HOST}/rs"}
    shown = expand("${dsn}", values, secrets=["DB_PASSWORD"], environ=env)
    assert shown == f"postgres://u:{MASK}@db.internal/rs"
    shell = expand("psql ${dsn}", values, secrets=["DB_PASSWORD"], environ=env, mode="shell")
    assert "hunter2" not in shell and "${DB_PASSWORD}" in shell
    value = expand("${dsn}", values, secrets=["DB_PASSWORD"], environ=env, mode="value")
    assert value == "postgres://u:hunter2-canary@db.internal/rs"


def test_shell_dollar_refs_and_escapes_are_left_alone() -> None:
    assert expand("pg_dump -h $DB_HOST $${literal}", {}) == "pg_dump -h $DB_HOST ${literal}"
    assert expand("${unknown}", {}) == "${unknown}"


def test_expand_params_walks_nested_values() -> None:
    params = {"url": "${base}/health", "expect_json": {"status": "ok"}, "urls": ["${base}/a"]}
    assert expand_params(params, {"base": "https://h"}) == {
        "url": "https://h/health", "expect_json": {"status": "ok"}, "urls": ["https://h/a"]}


def test_parse_overrides() -> None:
    assert parse_overrides(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(UsageError):
        parse_overrides(["novalue"])
    with pytest.raises(UsageError):
        parse_overrides(["bad key=1"])


def test_config_file_vars(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("vars:\n  domain: a.example\nchecklists:\n  T:\n    vars:\n      eb_env: s\n")
    assert load_config_vars("T", path) == {"domain": "a.example", "eb_env": "s"}
    assert load_config_vars("Other", path) == {"domain": "a.example"}
    path.write_text("varz: {}\n")
    with pytest.raises(VarError, match="line 1: unknown key 'varz'"):
        load_config_vars("T", path)


def test_config_var_that_is_a_mapping_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("vars:\n  domain: a.example\n  base_url: {a: 1}\n")
    with pytest.raises(VarError, match=r"line 3: vars.base_url must be text or a number"):
        load_config_vars("T", path)


def test_a_typo_in_set_is_refused_naming_the_var_it_meant() -> None:
    c = checklist(domain="example.com", base_url="https://${domain}", eb_env="prod")
    with pytest.raises(UsageError, match="did you mean 'base_url'"):
        check_overrides(c, {"bse_url": "https://staging.example"})
    # defined vars, vars the program reads itself, and unrelated names pass
    check_overrides(c, {"base_url": "x", "aws_region": "eu-west-1", "notify_webhook_url": "y",
                        "ticket": "CHG-1"})
