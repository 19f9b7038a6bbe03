"""The floor of the REST enqueue bench: what Django and PostgreSQL on this machine do for a request
that inserts one comparable row, with none of the product's work (no key, no checks, no doorbell).

Served only by the bench's URLconf (bench/urls.py, through bench/settings.py), never by the product.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from whatsapp.models import OutboundMessage


@csrf_exempt
@require_POST
def enqueue(request: HttpRequest) -> JsonResponse:
    payload = json.loads(request.body)
    row = OutboundMessage.objects.create(
        instance_id=getattr(settings, "BENCH_FLOOR_INSTANCE", 0),
        recipient=payload["to"],
        body=payload["text"],
    )
    return JsonResponse({"id": str(row.id), "status": row.status}, status=201)


@csrf_exempt
@require_POST
def batch(request: HttpRequest) -> JsonResponse:
    """The floor of a batch: the same rows in one `bulk_create`, nothing else."""
    payload = json.loads(request.body)
    instance_id = getattr(settings, "BENCH_FLOOR_INSTANCE", 0)
    rows = OutboundMessage.objects.bulk_create(
        OutboundMessage(instance_id=instance_id, recipient=item["to"], body=item["text"])
        for item in payload["messages"]
    )
    return JsonResponse({"created": len(rows)}, status=201)
