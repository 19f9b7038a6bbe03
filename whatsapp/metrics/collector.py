"""Gauges read from the database at scrape time: right however many processes run, and the
same for every scrape whichever web process answers it."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from whatsapp.models import Instance, OutboundMessage
from whatsapp.models.instance import SessionStatus
from whatsapp.models.message import MessageStatus

# Counted at every scrape: the statuses a message passes through. Finished messages are the
# counters' (whatsapp_send_attempts_total, whatsapp_acks_total), not a count of stored rows.
IN_FLIGHT = (
    MessageStatus.QUEUED,
    MessageStatus.DISPATCHED,
    MessageStatus.SENDING,
    MessageStatus.UNKNOWN,
)


def _age(now: object, then: object) -> float:
    return max((now - then).total_seconds(), 0.0) if then else 0.0  # type: ignore[operator]


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        instances = list(Instance.objects.order_by("slug"))
        slug = {row.pk: row.slug for row in instances}
        yield from self._sessions(instances, now)
        yield from self._messages(slug, now)

    def _sessions(self, instances: list[Instance], now: object) -> Iterator[GaugeMetricFamily]:
        connected = GaugeMetricFamily(
            "whatsapp_session_connected",
            "1 when the number's session is connected.",
            labels=["instance"],
        )
        status = GaugeMetricFamily(
            "whatsapp_session_status",
            "1 for the session's current status (CONNECTED, CLOSED, QRCODE, ...).",
            labels=["instance", "status"],
        )
        since = GaugeMetricFamily(
            "whatsapp_session_status_age_seconds",
            "Seconds since the session's status last changed.",
            labels=["instance"],
        )
        reachable = GaugeMetricFamily(
            "whatsapp_gateway_reachable",
            "0 while the instance's gateway cannot be reached.",
            labels=["instance"],
        )
        enabled = GaugeMetricFamily(
            "whatsapp_instance_enabled", "1 when the instance is enabled.", labels=["instance"]
        )
        for row in instances:
            connected.add_metric([row.slug], 1.0 if row.connected else 0.0)
            for value in SessionStatus.values:
                status.add_metric([row.slug, value], 1.0 if row.status == value else 0.0)
            since.add_metric([row.slug], _age(now, row.status_changed_at))
            reachable.add_metric([row.slug], 0.0 if row.gateway_error else 1.0)
            enabled.add_metric([row.slug], 1.0 if row.enabled else 0.0)
        yield from (connected, status, since, reachable, enabled)

    def _messages(self, slug: dict[int, str], now: object) -> Iterator[GaugeMetricFamily]:
        counts = GaugeMetricFamily(
            "whatsapp_messages",
            "Messages waiting or in flight, by instance and status.",
            labels=["instance", "status"],
        )
        oldest = GaugeMetricFamily(
            "whatsapp_queue_oldest_age_seconds",
            "Age of the oldest queued message, by instance (0 when none waits).",
            labels=["instance"],
        )
        unknown = GaugeMetricFamily(
            "whatsapp_unknown_oldest_age_seconds",
            "Age of the oldest message whose send is still unknown, by instance.",
            labels=["instance"],
        )
        review = GaugeMetricFamily(
            "whatsapp_messages_needing_review",
            "Unknown sends past the grace period, waiting for a person, by instance.",
            labels=["instance"],
        )
        found = {
            (row["instance_id"], row["status"]): row
            for row in OutboundMessage.objects.filter(status__in=IN_FLIGHT)
            .values("instance_id", "status")
            .annotate(n=Count("id"), first=Min("created_at"), flagged=Count("needs_review_since"))
            .order_by()
        }
        for pk, name in slug.items():
            for value in IN_FLIGHT:
                row = found.get((pk, value))
                counts.add_metric([name, value], float(row["n"]) if row else 0.0)
            queued = found.get((pk, MessageStatus.QUEUED))
            oldest.add_metric([name], _age(now, queued["first"]) if queued else 0.0)
            stuck = found.get((pk, MessageStatus.UNKNOWN))
            unknown.add_metric([name], _age(now, stuck["first"]) if stuck else 0.0)
            review.add_metric([name], float(stuck["flagged"]) if stuck else 0.0)
        yield from (counts, oldest, unknown, review)
