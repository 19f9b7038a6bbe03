"""The one HTTP client for outgoing webhooks: signs an event and posts it. No Django here.

Signed per the Standard Webhooks spec with the `standardwebhooks` package (`webhook-id`,
`webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`), so a receiver verifies
with any Standard Webhooks library. Redirects are not followed (a 3xx is an answer like any
other, not a delivery); addresses are checked as connected like `urlfetch`'s (public only
unless private ones are allowed); no proxies or credentials from the environment; one timeout
for connecting and one for each read; at most `MAX_ANSWER` bytes of the answer are read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from standardwebhooks.webhooks import Webhook

from whatsapp.urlfetch import BlockedAddress, chain_has, guarded_session

USER_AGENT = "leguas-whatsapp webhooks"
MAX_ANSWER = 4096
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: `status` None when no HTTP answer came (`error` says why)."""

    status: int | None
    duration_ms: int
    answer: str = ""
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def sign(secret: str, event_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for `body` sent at `at`."""
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, at, body),
    }


def post(
    url: str,
    *,
    secret: str,
    event_id: str,
    body: str,
    timeout: float,
    allow_private: bool,
    session: requests.Session | None = None,
) -> Outcome:
    """Sign and post one event; never raises for what the network or the receiver did."""
    headers = {"Content-Type": "application/json", **sign(secret, event_id, _now(), body)}
    started = time.monotonic()
    http = session or guarded_session(allow_private, USER_AGENT)
    try:
        response = http.post(
            url,
            data=body.encode("utf-8"),
            headers=headers,
            allow_redirects=False,
            stream=True,
            timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
        )
        try:
            answer = _read_answer(response)
        finally:
            response.close()
        return Outcome(response.status_code, _ms(started), answer)
    except requests.Timeout:
        return Outcome(None, _ms(started), error="timeout: the endpoint did not answer in time")
    except requests.RequestException as exc:
        if chain_has(exc, BlockedAddress):
            error = "address: the URL points to a private or local address"
        else:
            error = "connect: the endpoint could not be reached"
        return Outcome(None, _ms(started), error=error)
    finally:
        if session is None:
            http.close()


def _read_answer(response: requests.Response) -> str:
    raw = b""
    try:
        for chunk in response.iter_content(1024):
            raw += chunk
            if len(raw) >= MAX_ANSWER:
                break
    except requests.RequestException:
        pass  # the status came; a broken body does not change what was answered
    text = raw[:MAX_ANSWER].decode("utf-8", errors="replace")
    return text.replace("\x00", "\ufffd")


def _now() -> datetime:
    return datetime.now(UTC)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
