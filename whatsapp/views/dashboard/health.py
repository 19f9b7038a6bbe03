"""The health page: current state, uptime, the state timeline, reconnections, messages per day."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from whatsapp.services import outage
from whatsapp.views.dashboard import stats
from whatsapp.views.dashboard.common import has_instances, instance_or_404, page, page_context


@page
@require_GET
def health_page(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    if slug is None and not has_instances(request):
        return render(request, "whatsapp/no_instance.html", page_context(request, "health", None))
    instance = instance_or_404(request, slug)
    now = timezone.now()
    day_ago, week_ago = now - timedelta(hours=24), now - timedelta(days=7)
    day_spans = stats.spans(instance, day_ago, now)
    week_spans = stats.spans(instance, week_ago, now)
    days = stats.daily_messages(instance)
    context = {
        **page_context(request, "health", instance),
        "now": now,
        "outage": outage.describe(instance),
        "uptime_24h": stats.uptime(day_spans),
        "uptime_7d": stats.uptime(week_spans),
        "timeline_24h": stats.timeline_bars(day_spans, day_ago, now),
        "timeline_7d": stats.timeline_bars(week_spans, week_ago, now),
        "day_ago": day_ago,
        "week_ago": week_ago,
        "counts_24h": stats.transitions(instance, day_ago),
        "counts_7d": stats.transitions(instance, week_ago),
        "recent": stats.recent_transitions(instance),
        "days": days,
        "chart": stats.bar_chart(days),
        "totals": {s: sum(d[s] for d in days) for s in stats.SERIES},
    }
    return render(request, "whatsapp/health.html", context)
