"""Posting a message to a Slack-compatible incoming webhook (``{"text": ...}`` JSON POST)."""

from __future__ import annotations

from urllib.parse import urlsplit

from rsdeploy_tui.records import datarecord

WEBHOOK_TIMEOUT_S = 10.0


@datarecord(frozen=True)
class WebhookResult:
    """What happened to one post; ``ok`` False carries a sentence for the operator."""

    ok: bool
    status: int | None
    """HTTP status, None when no answer came."""
    detail: str
    """``posted`` or why not (``HTTP 500: ...``, ``connection refused``)."""
    host: str
    """Host of the webhook (the full URL holds a token and is never recorded)."""

    def as_fact(self, message_id: str) -> dict[str, object]:
        """The value recorded in the session (``fact`` named ``notification``)."""
        return {"message": message_id, "ok": self.ok, "status": self.status,
                "detail": self.detail, "host": self.host}


def webhook_host(url: str) -> str:
    """The host part only: a webhook URL's path is its secret."""
    return urlsplit(url).hostname or "webhook"


def payload(text: str) -> dict[str, str]:
    """The JSON body Slack (and Mattermost, Rocket.Chat, Teams' Slack mode) accept."""
    return {"text": text}


async def post_message(url: str, text: str, *, timeout: float = WEBHOOK_TIMEOUT_S) -> WebhookResult:
    """POST ``text`` to ``url``; never raises for network or HTTP failures (they are results)."""
    import httpx  # imported here: start-up time

    host = webhook_host(url)
    if urlsplit(url).scheme not in ("http", "https"):
        return WebhookResult(False, None, "the webhook URL must start with https:// or http://",
                             host)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.post(url, json=payload(text))
    except httpx.ConnectError as error:
        return WebhookResult(False, None, f"could not connect to {host}: {_reason(error)}", host)
    except httpx.TimeoutException:
        return WebhookResult(False, None, f"{host} did not answer within {timeout:g} s", host)
    except httpx.HTTPError as error:
        return WebhookResult(False, None, f"post to {host} failed: {_reason(error)}", host)
    if 200 <= response.status_code < 300:
        return WebhookResult(True, response.status_code, "posted", host)
    body = response.text.strip().splitlines()[0][:120] if response.text.strip() else ""
    detail = f"{host} answered HTTP {response.status_code}" + (f": {body}" if body else "")
    return WebhookResult(False, response.status_code, detail, host)


def _reason(error: BaseException) -> str:
    """The root cause in a few words (httpx wraps ``ConnectionRefusedError`` in generic text)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return "connection refused"
        seen = seen.__cause__ or seen.__context__
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:120]
