"""The inbox page: conversations, a thread with its reply box, and the JSON the page polls."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from django.contrib import messages as flash
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from whatsapp import access
from whatsapp.models import InboundMessage, Instance, OutboundMessage
from whatsapp.models.message import MessageStatus
from whatsapp.services import inbox, outbox
from whatsapp.views.dashboard.common import (
    OPERATE,
    VIEW,
    can_operate,
    instance_or_404,
    page,
    page_context,
    reader_zone,
)
from whatsapp.views.jsonapi import staff_required

IN_FLIGHT = (
    MessageStatus.QUEUED,
    MessageStatus.DISPATCHED,
    MessageStatus.SENDING,
    MessageStatus.UNKNOWN,
)
# A conversation that just moved is polled fast for a while: a reply often follows.
LIVELY = timedelta(minutes=2)
MAX_CHAT_LENGTH = 200


def _received(request: HttpRequest) -> QuerySet[InboundMessage]:
    return access.restrict(InboundMessage.objects.all(), request.user)


def _sent(request: HttpRequest) -> QuerySet[OutboundMessage]:
    return access.restrict(OutboundMessage.objects.all(), request.user)


def _chosen(request: HttpRequest, slug: str | None, chat: str | None) -> tuple[Instance, str]:
    if not slug or not chat or len(chat) > MAX_CHAT_LENGTH or "\x00" in chat:
        raise Http404(_("There is no such conversation."))
    return instance_or_404(request, slug), chat


def _thread_context(request: HttpRequest, instance: Instance, chat: str) -> dict[str, Any]:
    entries = inbox.thread(instance, chat, _received(request), _sent(request))
    now = timezone.now()
    busy = any(e.outbound is not None and e.outbound.status in IN_FLIGHT for e in entries) or (
        bool(entries) and entries[-1].at > now - LIVELY
    )
    return {
        "entries": entries,
        "thread_version": inbox.version(entries),
        "thread_busy": busy,
        "chat": chat,
        "chat_instance": instance,
        "is_group": chat.endswith("@g.us"),
    }


def _conversations_context(request: HttpRequest, current: tuple[int, str] | None) -> dict[str, Any]:
    items = inbox.conversations(_received(request))
    version = "|".join(
        f"{c.instance.pk}:{c.chat}:{c.last_at.isoformat()}:{c.unread}" for c in items
    )
    return {
        "conversations": items,
        "conversations_version": hashlib.sha256(version.encode()).hexdigest()[:16],
        "current": current,
    }


@page
@require_GET
def inbox_page(
    request: HttpRequest, slug: str | None = None, chat: str | None = None
) -> HttpResponse:
    context: dict[str, Any] = {}
    current = None
    if slug is not None:
        instance, chat = _chosen(request, slug, chat)
        inbox.mark_read(instance, chat)
        context.update(_thread_context(request, instance, chat))
        context["reply_key"] = uuid.uuid4().hex
        current = (instance.pk, chat)
    context.update(_conversations_context(request, current))
    return render(
        request,
        "whatsapp/inbox.html",
        {**page_context(request, "inbox", None), **context, "can_operate": can_operate(request)},
    )


@never_cache
@require_GET
@staff_required(VIEW)
def inbox_updates(request: HttpRequest) -> JsonResponse:
    """What the page draws, drawn again, with versions so it swaps only what changed. The thread
    being read is marked read: its new messages were seen."""
    slug, chat = request.GET.get("instance"), request.GET.get("chat")
    current = None
    data: dict[str, Any] = {"success": True}
    with timezone.override(reader_zone(request)):
        if slug and chat:
            instance, chat = _chosen(request, slug, chat)
            inbox.mark_read(instance, chat)
            thread = _thread_context(request, instance, chat)
            data["thread"] = {
                "version": thread["thread_version"],
                "busy": thread["thread_busy"],
                "html": render_to_string("whatsapp/_inbox_thread.html", thread, request=request),
            }
            current = (instance.pk, chat)
        listing = _conversations_context(request, current)
        data["conversations"] = {
            "version": listing["conversations_version"],
            "html": render_to_string(
                "whatsapp/_inbox_conversations.html", listing, request=request
            ),
        }
    return JsonResponse(data)


@require_POST
@staff_required(OPERATE)
def reply_view(request: HttpRequest, slug: str, chat: str) -> HttpResponse:
    instance, chat = _chosen(request, slug, chat)
    back = redirect(reverse("dashboard-inbox-thread", args=[instance.slug, chat]))
    try:
        inbox.reply(
            instance,
            chat,
            request.POST.get("text", ""),
            key=request.POST.get("key") or None,
            by=request.user.get_username(),
        )
    except outbox.MessageValidationError as exc:
        reasons = [reason for field in exc.errors.values() for reason in field]
        flash.error(request, " ".join(reasons) or _("The reply could not be queued."))
    except outbox.IdempotencyConflict:
        flash.error(request, _("This form was already sent with another text; write it again."))
    else:
        flash.success(request, _("The reply is in the queue."))
    return back
