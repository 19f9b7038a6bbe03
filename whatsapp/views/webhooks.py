"""The gateway's webhook receiver. The gateway cannot sign, so the URL carries a secret."""

from __future__ import annotations

import json
import secrets

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from whatsapp.models import Instance
from whatsapp.services import webhooks

MAX_BODY = 5 * 1024 * 1024


@csrf_exempt
@require_POST
def receive(request: HttpRequest, slug: str, secret: str) -> HttpResponse:
    instance = Instance.objects.filter(slug=slug).first()
    # Compare even for an unknown slug, so timing does not tell which slugs exist.
    expected = instance.webhook_secret if instance else secrets.token_urlsafe(32)
    if not secrets.compare_digest(expected.encode(), secret.encode()) or instance is None:
        return HttpResponse(status=404)
    if len(request.body) > MAX_BODY:
        return JsonResponse({"ok": False, "error": "body too large"}, status=413)
    try:
        payload = json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return JsonResponse({"ok": False, "error": "body is not JSON"}, status=400)
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        return JsonResponse(
            {"ok": False, "error": "expected a JSON object with an event"}, status=400
        )
    session = payload.get("session")
    if session not in (None, "", instance.session_name):
        # Another session's event at this instance's URL: never let it touch this instance.
        return JsonResponse({"ok": True, "ignored": "other session"})
    event = webhooks.store(instance, payload)
    return JsonResponse({"ok": True, "duplicate": event is None})
