"""Ambiguous sends on the dashboard: the list a page includes, and the resolve action."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from whatsapp import access, audit
from whatsapp.models import Instance, OutboundMessage
from whatsapp.models.message import Resolution
from whatsapp.services import review
from whatsapp.services.outbox import InvalidTransition
from whatsapp.views.jsonapi import OPERATE, staff_required

SHOWN = 20
DONE = {
    Resolution.SENT: gettext_lazy("Marked as sent."),
    Resolution.RESEND: gettext_lazy("The message is back in the queue."),
}


def review_context(request: HttpRequest, instance: Instance | None = None) -> dict[str, Any]:
    """What `whatsapp/_review.html` needs; one count and one short list."""
    instance_id = instance.pk if instance is not None else None
    flagged = access.restrict(review.needing_review(instance_id), request.user)
    return {
        "review_messages": list(flagged[:SHOWN]),
        "review_count": flagged.count(),
        "current_url": request.get_full_path(),
    }


@require_POST
@staff_required(OPERATE)
def resolve_view(request: HttpRequest, message_id: UUID) -> HttpResponse:
    get_object_or_404(access.restrict(OutboundMessage.objects.all(), request.user), pk=message_id)
    resolution = request.POST.get("resolution", "")
    if resolution not in Resolution.values:
        flash.error(request, _("Choose “it was sent” or “send it again”."))
    else:
        try:
            review.resolve(
                message_id,
                resolution,
                request.user.get_username(),
                actor=audit.actor_of(request),
            )
        except InvalidTransition as exc:
            flash.error(request, str(exc))
        else:
            flash.success(request, str(DONE[Resolution(resolution)]))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = reverse("dashboard-messages")
    return redirect(target)
