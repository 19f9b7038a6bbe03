"""The one NinjaAPI: its routers, authentication, errors, language and parser."""

from __future__ import annotations

from ninja import NinjaAPI

from . import batches, errors, inbound, instances, media, messages, webhooks
from .auth import KeyRateThrottle
from .http import JsonParser, api_view

DESCRIPTION = """\
Queue WhatsApp messages and follow them until they are read; manage the numbers that send them.

Authenticate every call with `Authorization: Bearer <key>` (create a key with
`manage.py whatsapp_apikey create NAME --instances a,b --scopes send,read`).

- **Scopes**: each route names the scope it needs (`send`, `read`, `read-all`, `cancel`,
  `webhooks`, `sessions`); a key without it gets `403` naming it. A key uses only its
  instances, reads only the messages it created (every message of its instances with
  `read-all`), and its idempotency keys are its own.
- **Rate limit**: each key may make a number of requests per second (with a burst); past it,
  `429` with `Retry-After` in seconds.

- **Errors** have one shape: `{"success": false, "message", "code", "errors": {field: [reasons]}}`.
  `400` names each bad field; an unknown field or query parameter is refused, named.
- **Language**: English, or the language asked for with `Accept-Language` (`pt-BR` available).
- **Nothing waits on WhatsApp**: a message is stored and queued (`201`), a session operation is
  recorded and run by a worker (`202`, then poll its `url`).
- **Files**: upload once with `POST /media`, then send with `media_id` as many times as needed;
  or give small files inline (`media_base64`) or an address to fetch (`media_url`).
"""


class WhatsAppAPI(NinjaAPI):
    def set_default_exception_handlers(self) -> None:
        # Instead of ninja's, which turn any exception into a 500 page of their own and would
        # hide it from the host's middleware (a database outage answered 503, for one).
        errors.install(self)


api = WhatsAppAPI(
    title="leguas-whatsapp",
    version="1",
    description=DESCRIPTION,
    parser=JsonParser(),
    throttle=[KeyRateThrottle()],
    urls_namespace="whatsapp-api",
    docs_url=None,
    openapi_url=None,
)
api.add_decorator(api_view, mode="view")
# Before messages: `/messages/batch` must not be read as the message called "batch".
api.add_router("", batches.router)
api.add_router("", messages.router)
api.add_router("", instances.router)
api.add_router("", media.router)
api.add_router("", inbound.router)
api.add_router("", webhooks.router)
