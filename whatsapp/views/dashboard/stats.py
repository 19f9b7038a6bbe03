"""Health figures computed from HealthSample and OutboundMessage, shaped for inline SVG charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import ngettext

from whatsapp.conf import conf
from whatsapp.models import HealthSample, Instance, OutboundMessage

CHART_DAYS = 14


def max_gap() -> timedelta:
    # A sample stands for the time until the next one; past a few missed periods we know nothing.
    return timedelta(seconds=3 * max(conf.HEALTH_INTERVAL, 1))


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    state: str  # "up", "down" (the phone or session), "outage" (the gateway) or "nodata"


def sample_state(connected: bool, gateway_error: str) -> str:
    if connected:
        return "up"
    return "outage" if gateway_error else "down"


def spans(instance: Instance, since: datetime, until: datetime) -> list[Span]:
    """The window cut into up / down / no-data stretches, merged where the state repeats."""
    rows = list(
        HealthSample.objects.filter(instance=instance, at__gte=since - max_gap(), at__lte=until)
        .order_by("at")
        .values_list("at", "connected", "gateway_error")
    )
    out: list[Span] = []

    def add(start: datetime, end: datetime, state: str) -> None:
        start, end = max(start, since), min(end, until)
        if end <= start:
            return
        if out and out[-1].state == state and out[-1].end >= start:
            out[-1] = Span(out[-1].start, end, state)
        else:
            out.append(Span(start, end, state))

    cursor = since
    for index, (at, connected, gateway_error) in enumerate(rows):
        if at > cursor:
            add(cursor, at, "nodata")
        following = rows[index + 1][0] if index + 1 < len(rows) else until
        end = min(following, at + max_gap())
        add(at, end, sample_state(connected, gateway_error))
        cursor = max(cursor, end)
    if cursor < until:
        add(cursor, until, "nodata")
    return out


@dataclass(frozen=True)
class Uptime:
    percent: float
    # How much of the window was observed: a percentage over two minutes of samples is not one
    # over 24 hours, and the page says which.
    observed: timedelta
    window: timedelta

    @property
    def complete(self) -> bool:
        return self.observed >= self.window * 0.95

    @property
    def observed_text(self) -> str:
        return duration_text(self.observed)


def duration_text(delta: timedelta) -> str:
    """ "2 minutes", "5 hours", "3 days": the largest whole unit, at least one minute."""
    seconds = int(delta.total_seconds())
    if seconds >= 2 * 86400:
        n = seconds // 86400
        return ngettext("%(n)s day", "%(n)s days", n) % {"n": n}
    if seconds >= 2 * 3600:
        n = seconds // 3600
        return ngettext("%(n)s hour", "%(n)s hours", n) % {"n": n}
    n = max(seconds // 60, 1)
    return ngettext("%(n)s minute", "%(n)s minutes", n) % {"n": n}


def uptime(window: list[Span]) -> Uptime | None:
    """Share of the observed time the session was connected; None with no observation."""
    up = sum((s.end - s.start).total_seconds() for s in window if s.state == "up")
    seen = sum((s.end - s.start).total_seconds() for s in window if s.state != "nodata")
    if not seen:
        return None
    total = (window[-1].end - window[0].start) if window else timedelta(0)
    return Uptime(round(100 * up / seen, 1), timedelta(seconds=seen), total)


def timeline_bars(window: list[Span], since: datetime, until: datetime) -> list[dict[str, Any]]:
    total = (until - since).total_seconds()
    return [
        {
            "x": round(1000 * (s.start - since).total_seconds() / total, 2),
            "width": max(round(1000 * (s.end - s.start).total_seconds() / total, 2), 0.5),
            "state": s.state,
            "start": s.start,
            "end": s.end,
        }
        for s in window
    ]


def transitions(instance: Instance, since: datetime) -> dict[str, int]:
    counts = dict(
        HealthSample.objects.filter(instance=instance, at__gte=since)
        .exclude(transition="")
        .values_list("transition")
        .annotate(n=Count("id"))
        .values_list("transition", "n")
    )
    return {
        "disconnections": counts.get("disconnected", 0),
        "reconnections": counts.get("connected", 0),
    }


def recent_transitions(instance: Instance, limit: int = 20) -> list[HealthSample]:
    return list(HealthSample.objects.filter(instance=instance).exclude(transition="")[:limit])


def _per_day(field: str, instance: Instance | None, since: datetime) -> dict[date, int]:
    queryset = OutboundMessage.objects.filter(**{f"{field}__gte": since})
    if instance is not None:
        queryset = queryset.filter(instance=instance)
    rows = (
        queryset.annotate(day=TruncDate(field, tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return dict(rows)


def daily_messages(instance: Instance | None, days: int = CHART_DAYS) -> list[dict[str, Any]]:
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    sent = _per_day("sent_at", instance, since)
    delivered = _per_day("delivered_at", instance, since)
    failed = _per_day("failed_at", instance, since)
    return [
        {
            "day": day,
            "sent": sent.get(day, 0),
            "delivered": delivered.get(day, 0),
            "failed": failed.get(day, 0),
        }
        for day in (first + timedelta(days=n) for n in range(days))
    ]


CHART_W, CHART_H, CHART_PAD = 700, 220, 28
SERIES = ("sent", "delivered", "failed")


def bar_chart(days: list[dict[str, Any]]) -> dict[str, Any]:
    """Grouped bars in a fixed viewBox: the template only draws what this computed."""
    top = max([max(d[s] for s in SERIES) for d in days] + [1])
    plot_h = CHART_H - 2 * CHART_PAD
    slot = (CHART_W - CHART_PAD) / len(days)
    bar = slot / (len(SERIES) + 1)
    groups = []
    for index, day in enumerate(days):
        x0 = CHART_PAD + index * slot + bar / 2
        bars = []
        for n, series in enumerate(SERIES):
            h = plot_h * day[series] / top
            bars.append(
                {
                    "series": series,
                    "value": day[series],
                    "x": round(x0 + n * bar, 2),
                    "y": round(CHART_PAD + plot_h - h, 2),
                    "width": round(bar * 0.9, 2),
                    "height": round(h, 2),
                }
            )
        groups.append({"day": day["day"], "bars": bars, "label_x": round(x0 + bar * 1.5, 2)})
    return {
        "width": CHART_W,
        "height": CHART_H,
        "top": top,
        "top_y": CHART_PAD,
        "base_y": CHART_H - CHART_PAD,
        "label_y": CHART_H - CHART_PAD + 16,
        "groups": groups,
    }
