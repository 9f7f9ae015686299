"""Which shared store sessions use: ``--store``, ``RSDEPLOY_STORE`` or ``store:`` in the config.

``s3://BUCKET/PREFIX``. The endpoint and region come from where every other AWS client takes
them (``aws_endpoint_url`` / ``aws_region`` in the config file's vars, ``AWS_ENDPOINT_URL``,
``AWS_REGION``); an endpoint that is not TLS is refused unless it is on 127.0.0.1, so a
journal never crosses a network in clear text.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from rsdeploy_tui import locations
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord

ENV = "RSDEPLOY_STORE"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

_chosen: str | None = None  # --store of this command line (cli.main sets it, each run)


class StoreUrlError(RsdeployError):
    """A store URL (or its endpoint) that cannot be used."""


@datarecord(frozen=True)
class StoreUrl:
    """A parsed ``s3://BUCKET/PREFIX``."""

    bucket: str
    prefix: str
    """Key prefix without slashes at either end (may be empty)."""
    source: str
    """Where it was given (``--store``, ``RSDEPLOY_STORE``, the config file and line)."""

    def key(self, *parts: str) -> str:
        """The object key of ``parts`` under the prefix."""
        return "/".join(p for p in (self.prefix, *parts) if p)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def choose(explicit: str | None) -> None:
    """Remember the ``--store`` of this command line (None: not given)."""
    global _chosen
    _chosen = explicit


def parse_store_url(text: str, source: str) -> StoreUrl:
    """Parse ``s3://BUCKET/PREFIX``; a located ``StoreUrlError`` otherwise."""
    parts = urlsplit(text.strip())
    if parts.scheme != "s3":
        raise StoreUrlError("Bad store URL", f"{source}: '{text}' is not a shared store URL; "
                            "expected s3://BUCKET/PREFIX.")
    if not _BUCKET.match(parts.netloc or ""):
        raise StoreUrlError("Bad store URL", f"{source}: '{parts.netloc}' in '{text}' is not an "
                            "S3 bucket name (3-63 lower-case letters, digits, dots, hyphens).")
    if parts.query or parts.fragment:
        raise StoreUrlError("Bad store URL", f"{source}: '{text}' has a query or fragment; "
                            "expected s3://BUCKET/PREFIX.")
    prefix = parts.path.strip("/")
    if any(p in ("", ".", "..") for p in prefix.split("/")) and prefix:
        raise StoreUrlError("Bad store URL", f"{source}: the prefix '{prefix}' in '{text}' has "
                            "an empty, '.' or '..' part.")
    return StoreUrl(parts.netloc, prefix, source)


def configured_store(config: Path | None = None) -> StoreUrl | None:
    """The store this run uses: ``--store``, else ``RSDEPLOY_STORE``, else ``store:`` in the
    config file; None when none is set (sessions stay on this machine only)."""
    if _chosen:
        return parse_store_url(_chosen, "--store")
    if os.environ.get(ENV):
        return parse_store_url(os.environ[ENV], ENV)
    path = config or locations.config_file()
    if not path.exists():
        return None
    from rsdeploy_tui.checklist.lines import LineDict
    from rsdeploy_tui.checklist.yamlread import load_yaml

    data = load_yaml(path, what="config")
    if not isinstance(data, dict) or not data.get("store"):
        return None
    line = data.line_of("store") if isinstance(data, LineDict) else 1
    value = data["store"]
    if not isinstance(value, str):
        raise StoreUrlError("Bad config file", f"{path}, line {line}: 'store' must be an "
                            "s3://BUCKET/PREFIX URL.")
    return parse_store_url(value, f"{path}, line {line}, store")


def check_endpoint(endpoint: str | None, url: StoreUrl) -> None:
    """Refuse a clear-text endpoint unless it is on 127.0.0.1 (tests, a local gateway)."""
    if not endpoint:
        return  # boto3's default: https to AWS
    parts = urlsplit(endpoint)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname == "127.0.0.1":
        return
    raise StoreUrlError(
        "Shared store refused",
        f"The store {url} ({url.source}) would be reached through {endpoint}, which is not "
        "TLS: the session journal would cross the network in clear text. Use an https:// "
        "endpoint (aws_endpoint_url / AWS_ENDPOINT_URL); only http://127.0.0.1 is accepted.")
