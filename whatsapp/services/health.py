"""The health recorder: one sample per enabled instance per period, and auto-reconnect.

One sample per period however many beats run (two beat processes by mistake, a beat restarted
mid-period): a sample is taken only by the process that claims it, with a conditional update of
the instance's `health_claimed_at` to now when the last claim is older than 0.6 periods. Any
number of ticks inside 0.6 periods yields one sample, and a single beat ticking once per period
is never refused (its jitter would have to exceed 0.4 periods).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from whatsapp import metrics
from whatsapp.conf import conf
from whatsapp.crypto import SecretUnreadable
from whatsapp.gateway import GatewayError
from whatsapp.models import HealthSample, Instance
from whatsapp.models.instance import SessionStatus
from whatsapp.models.operation import OperationKind
from whatsapp.services import session_state
from whatsapp.services.gateway import HEALTH_TIMEOUTS, client_for
from whatsapp.services.session_flows import observe

logger = logging.getLogger(__name__)

PRUNE_BATCH = 5000
RECONNECT_CAP_PER_HOUR = 6
RECONNECT_BASE_DELAY = 30
RECONNECT_MAX_DELAY = 900
CLAIM_SHARE = 0.6


def instances_to_record() -> list[int]:
    return list(Instance.objects.filter(enabled=True).values_list("pk", flat=True))


def refresh(instance_id: int) -> None:
    """Bring the stored state up to date (asked for by status polls), without a sample."""
    instance = Instance.objects.filter(pk=instance_id, enabled=True).first()
    if instance is None:
        return
    try:
        observe(instance, client_for(instance, timeouts=HEALTH_TIMEOUTS))
    except (GatewayError, SecretUnreadable) as exc:
        _store_error(instance, exc)


def _store_error(instance: Instance, exc: Exception) -> str:
    message = exc.message if isinstance(exc, GatewayError) else str(exc)
    reason = exc.reason if isinstance(exc, GatewayError) else "secret"
    session_state.gateway_failed(instance, reason, message)
    return message


def claim_sample(instance_id: int, period: float, now: datetime) -> bool:
    """True for exactly one caller per ~period: the one that may take this period's sample."""
    last_allowed = now - timedelta(seconds=max(1.0, period) * CLAIM_SHARE)
    return (
        Instance.objects.filter(pk=instance_id, enabled=True)
        .filter(Q(health_claimed_at__isnull=True) | Q(health_claimed_at__lte=last_allowed))
        .update(health_claimed_at=now)
        == 1
    )


def record(instance_id: int, *, period: float | None = None) -> HealthSample | None:
    # The sample is stamped with its claim, the start of the check, not the gateway's answer: a
    # slow answer would otherwise put two samples claimed a period apart a moment apart.
    claimed = timezone.now()
    if not claim_sample(instance_id, period or conf.HEALTH_INTERVAL, claimed):
        return None
    instance = Instance.objects.filter(pk=instance_id, enabled=True).first()
    if instance is None:
        return None
    # A transition is between two samples: a webhook may have changed the row since the last one.
    last = HealthSample.objects.filter(instance=instance).order_by("-at").first()
    was_connected = last.connected if last is not None else instance.connected
    started = time.monotonic()
    error = gateway_error = ""
    try:
        state = observe(instance, client_for(instance, timeouts=HEALTH_TIMEOUTS))
        status, connected = state.status, state.connected
    except (GatewayError, SecretUnreadable) as exc:
        error = _store_error(instance, exc)
        gateway_error = instance.gateway_error
        status, connected = SessionStatus.UNKNOWN, False
    latency = int((time.monotonic() - started) * 1000)
    transition = ""
    if was_connected and not connected:
        transition = "disconnected"
    elif connected and not was_connected:
        transition = "connected"
    sample = HealthSample.objects.create(
        instance=instance,
        at=claimed,
        status=status,
        connected=connected,
        latency_ms=None if error else latency,
        error=error,
        gateway_error=gateway_error,
        transition=transition,
    )
    if transition == "disconnected":
        logger.warning("instance %s disconnected (status %s)", instance.slug, status)
    if not connected:
        maybe_reconnect(instance.pk, status)
    return sample


def maybe_reconnect(instance_id: int, status: str) -> bool:
    """Start the session again, with backoff and a cap per hour; stop when a scan is needed."""
    from whatsapp.services.operations import request_operation

    with transaction.atomic():
        instance = Instance.objects.locked().get(pk=instance_id)
        if not instance.auto_reconnect or instance.needs_scan:
            return False
        if not _was_ever_connected(instance):
            return False  # never linked: a person must scan first, a restart would only loop QRs
        if status in (SessionStatus.QRCODE, SessionStatus.PHONECODE):
            # The gateway wants a new login: retrying cannot help until someone scans.
            session_state.mark_needs_scan(instance, "needs a new scan")
            return False
        now = timezone.now()
        if instance.next_reconnect_at and instance.next_reconnect_at > now:
            return False
        if (
            instance.reconnect_window_start is None
            or now - instance.reconnect_window_start > timedelta(hours=1)
        ):
            instance.reconnect_window_start, instance.reconnect_attempts = now, 0
        if instance.reconnect_attempts >= RECONNECT_CAP_PER_HOUR:
            return False
        delay = min(RECONNECT_BASE_DELAY * 2**instance.reconnect_attempts, RECONNECT_MAX_DELAY)
        instance.reconnect_attempts += 1
        instance.next_reconnect_at = now + timedelta(seconds=delay)
        instance.save(
            update_fields=["reconnect_attempts", "reconnect_window_start", "next_reconnect_at"]
        )
        if status in (SessionStatus.INITIALIZING,):
            return False  # already starting: counting the attempt is enough
        request_operation(instance, OperationKind.START)
        transaction.on_commit(
            lambda: metrics.RECONNECT_ATTEMPTS.labels(instance=instance.slug).inc()
        )
        return True


def _was_ever_connected(instance: Instance) -> bool:
    return HealthSample.objects.filter(instance=instance, connected=True).exists()


def prune() -> int:
    cutoff = timezone.now() - timedelta(days=conf.HEALTH_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(
            HealthSample.objects.filter(at__lt=cutoff).values_list("pk", flat=True)[:PRUNE_BATCH]
        )
        if not ids:
            return deleted
        deleted += HealthSample.objects.filter(pk__in=ids).delete()[0]
