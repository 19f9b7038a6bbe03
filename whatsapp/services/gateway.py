"""Builds the gateway client for an instance row: the one place settings meet the client."""

from __future__ import annotations

from django.urls import reverse

from whatsapp.conf import conf
from whatsapp.gateway import GatewayClient, Timeouts
from whatsapp.models import Instance

# Health probes must not hold a worker for the 60 s a send may need.
HEALTH_TIMEOUTS = Timeouts(connect=5.0, read=10.0, session=10.0)
# Send reads end well inside the messages queue's 50 s soft limit, so a slow gateway is an
# answer, not a kill.
SEND_READ_TIMEOUT = 40.0


def default_timeouts() -> Timeouts:
    return Timeouts(
        connect=conf.CONNECT_TIMEOUT,
        read=conf.READ_TIMEOUT,
        session=conf.SESSION_TIMEOUT,
    )


def client_for(instance: Instance, *, timeouts: Timeouts | None = None) -> GatewayClient:
    return GatewayClient(
        instance.gateway_url,
        instance.session_name,
        instance.secret_key,
        timeouts=timeouts or default_timeouts(),
    )


_send_sessions: dict[str, object] = {}


def send_client(instance: Instance) -> GatewayClient:
    """The client for sends and their look-ups: one keep-alive HTTP session per gateway and
    process (a TCP handshake per send halves throughput)."""
    import requests

    http = _send_sessions.get(instance.gateway_url)
    if not isinstance(http, requests.Session):
        http = requests.Session()
        _send_sessions[instance.gateway_url] = http
    base = default_timeouts()
    timeouts = Timeouts(
        connect=base.connect, read=min(base.read, SEND_READ_TIMEOUT), session=base.session
    )
    return GatewayClient(
        instance.gateway_url,
        instance.session_name,
        instance.secret_key,
        timeouts=timeouts,
        http=http,
    )


def webhook_url(instance: Instance) -> str:
    path = reverse("whatsapp-webhook", args=[instance.slug, instance.webhook_secret])
    return f"{conf.PUBLIC_URL}{path}"
