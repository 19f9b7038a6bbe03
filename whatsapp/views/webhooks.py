"""The gateway's webhook receiver. The gateway cannot sign, so the URL carries a secret.

The body is read as a stream up to `MAX_BODY` bytes, so this view answers its own 413 (Django's
DATA_UPLOAD_MAX_MEMORY_SIZE only guards `request.body`, which is never touched here), and every
answer is JSON. A body that decodes is made storable (NUL bytes and lone surrogates replaced), so
an odd event is kept and applied as well as it can be, never lost to a database error.
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from whatsapp.gateway.values import clean_json
from whatsapp.jsonbody import BadBody, loads
from whatsapp.models import Instance
from whatsapp.services import webhooks

# Events are small JSON documents; a QR image is ~10 kB, an inbound message body at most 65 kB.
MAX_BODY = 5 * 1024 * 1024
READ_CHUNK = 64 * 1024


def _bad(error: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"ok": False, "error": error}, status=status)


def _read_body(request: HttpRequest) -> bytes | None:
    """The body, or None when it exceeds MAX_BODY (read no further than that)."""
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = request.read(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)


@csrf_exempt
@require_POST
def receive(request: HttpRequest, slug: str, secret: str) -> HttpResponse:
    instance = Instance.objects.filter(slug=slug).first()
    # Compare even for an unknown slug, so timing does not tell which slugs exist.
    expected = instance.webhook_secret if instance else secrets.token_urlsafe(32)
    if not secrets.compare_digest(expected.encode(), secret.encode()) or instance is None:
        return HttpResponse(status=404)
    raw = _read_body(request)
    if raw is None:
        return _bad("body too large", 413)
    try:
        payload = clean_json(loads(raw))
    except BadBody:
        return _bad("body is not JSON")
    except ValueError:
        return _bad("body is nested too deep")
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        return _bad("expected a JSON object with an event")
    session = payload.get("session")
    if session not in (None, "", instance.session_name):
        # Another session's event at this instance's URL: never let it touch this instance.
        return JsonResponse({"ok": True, "ignored": "other session"})
    event = webhooks.store(instance, payload)
    return JsonResponse({"ok": True, "duplicate": event is None})
