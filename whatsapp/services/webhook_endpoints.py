"""Managing webhook endpoints: the one service behind the dashboard, the admin, the command
and the REST API, so each checks the same rules, answers the same reasons and audits alike.

A signing secret is returned once, by `create` and `rotate_secret`; it is stored encrypted and
never shown again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from whatsapp import audit
from whatsapp.audit import Actor, AuditAction
from whatsapp.models import Instance, WebhookDelivery, WebhookEndpoint
from whatsapp.models.media import WorkState
from whatsapp.models.webhook import EventType, new_signing_secret
from whatsapp.services import webhook_events
from whatsapp.urlfetch import check_url

MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 200
EVENT_TYPES: tuple[str, ...] = tuple(EventType.values)
# May the actor use this instance? (access.may_use, bound to a key or a user.)
Usable = Callable[[Instance], bool]


class EndpointError(Exception):
    """Bad input: `errors` maps each field to its reasons; `code` for APIs."""

    def __init__(self, errors: dict[str, list[str]], code: str = "invalid") -> None:
        super().__init__(next(iter(errors.values()))[0] if errors else code)
        self.errors = errors
        self.code = code


class EndpointNotFound(Exception):
    pass


def _bad_text(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    return False


def clean_url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise EndpointError({"url": [str(_("Enter the URL events are posted to."))]})
    url = value.strip()
    if len(url) > MAX_URL_LENGTH:
        message = _("Use at most %(n)s characters.") % {"n": MAX_URL_LENGTH}
        raise EndpointError({"url": [str(message)]})
    if _bad_text(url) or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise EndpointError({"url": [str(_("This URL has characters a URL cannot have."))]})
    problem = check_url(url)
    if problem is not None:
        reasons = {
            "only http and https URLs can be fetched": _("Use an http:// or https:// URL."),
            "the URL has no host": _("The URL has no host."),
            "the URL must not carry a user name or password": _(
                "The URL must not carry a user name or password."
            ),
        }
        raise EndpointError({"url": [str(reasons.get(problem, _("This is not a URL.")))]})
    return url


def clean_events(value: Any) -> list[str]:
    """A list of event types; empty or None means every type."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise EndpointError({"events": [str(_("Give a list of event types."))]})
    unknown = [v for v in value if v not in EVENT_TYPES]
    if unknown:
        shown = ", ".join(repr(v[:40].replace("\x00", "")) for v in unknown[:5])
        message = _("Unknown event type: %(unknown)s. Use some of: %(known)s.") % {
            "unknown": shown.encode("utf-8", "replace").decode("utf-8"),
            "known": ", ".join(EVENT_TYPES),
        }
        raise EndpointError({"events": [str(message)]})
    return sorted(set(value), key=EVENT_TYPES.index)


def clean_instance(value: Any, usable: Usable | None) -> Instance | None:
    if value is None or value == "":
        return None
    if isinstance(value, Instance):
        instance: Instance | None = value
    elif isinstance(value, str) and len(value) <= 50 and not _bad_text(value):
        instance = Instance.objects.filter(slug=value).first()
    else:
        instance = None
    if instance is None or (usable is not None and not usable(instance)):
        shown = str(value)[:50].replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
        message = _("There is no WhatsApp instance called “%(slug)s”.") % {"slug": shown}
        raise EndpointError({"instance": [str(message)]})
    return instance


def clean_description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise EndpointError({"description": [str(_("Give this as text."))]})
    if len(value) > MAX_DESCRIPTION_LENGTH:
        message = _("Use at most %(n)s characters.") % {"n": MAX_DESCRIPTION_LENGTH}
        raise EndpointError({"description": [str(message)]})
    if _bad_text(value):
        raise EndpointError({"description": [str(_("This text has characters it cannot have."))]})
    return value.strip()


def _collect(*checks: Callable[[], Any]) -> list[Any]:
    """Run every check; raise one error naming every bad field."""
    errors: dict[str, list[str]] = {}
    results = []
    for check in checks:
        try:
            results.append(check())
        except EndpointError as exc:
            errors.update(exc.errors)
            results.append(None)
    if errors:
        raise EndpointError(errors)
    return results


def create(
    actor: Actor,
    *,
    url: Any,
    events: Any = None,
    instance: Any = None,
    description: Any = "",
    usable: Usable | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its signing secret, the only time the secret is given."""
    clean = _collect(
        lambda: clean_url(url),
        lambda: clean_events(events),
        lambda: clean_instance(instance, usable),
        lambda: clean_description(description),
    )
    secret = new_signing_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint(
            url=clean[0],
            event_types=clean[1],
            instance=clean[2],
            description=clean[3],
            created_by=actor.label[:160],
        )
        endpoint.secret = secret
        endpoint.save()
        audit.record(
            actor,
            AuditAction.WEBHOOK_CREATE,
            instance=endpoint.instance_id,
            target=_target(endpoint),
            changes={"url": endpoint.url, "events": endpoint.event_types or "all"},
        )
    return endpoint, secret


def get(endpoint_id: Any, usable: Usable | None = None) -> WebhookEndpoint:
    """The endpoint, if it exists and the actor may see it (one of its instances, or any)."""
    try:
        pk = uuid.UUID(str(endpoint_id))
    except ValueError:
        raise EndpointNotFound(endpoint_id) from None
    endpoint = WebhookEndpoint.objects.select_related("instance").filter(pk=pk).first()
    if endpoint is None or not visible(endpoint, usable):
        raise EndpointNotFound(endpoint_id)
    return endpoint


def visible(endpoint: WebhookEndpoint, usable: Usable | None) -> bool:
    """An actor limited to some instances sees only the endpoints filtered to one of them."""
    if usable is None:
        return True
    return endpoint.instance is not None and usable(endpoint.instance)


def set_enabled(actor: Actor, endpoint: WebhookEndpoint, enabled: bool) -> WebhookEndpoint:
    with transaction.atomic():
        fields: dict[str, Any] = {"enabled": enabled}
        if enabled:
            fields.update(disabled_at=None, disabled_reason="", failing_since=None)
        else:
            fields.update(disabled_at=timezone.now(), disabled_reason="disabled by " + actor.label)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**fields)
        for name, value in fields.items():
            setattr(endpoint, name, value)
        audit.record(
            actor,
            AuditAction.WEBHOOK_CHANGE,
            instance=endpoint.instance_id,
            target=_target(endpoint),
            changes={"enabled": [not enabled, enabled]},
        )
    return endpoint


def rotate_secret(actor: Actor, endpoint: WebhookEndpoint) -> str:
    """A new signing secret, returned this once; deliveries from now on are signed with it."""
    secret = new_signing_secret()
    with transaction.atomic():
        endpoint.secret = secret
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            secret_encrypted=endpoint.secret_encrypted, updated_at=timezone.now()
        )
        audit.record(
            actor,
            AuditAction.WEBHOOK_CHANGE,
            instance=endpoint.instance_id,
            target=_target(endpoint),
            changes={"secret": "changed"},
        )
    return secret


def remove(actor: Actor, endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        audit.record(
            actor,
            AuditAction.WEBHOOK_DELETE,
            instance=endpoint.instance_id,
            target=_target(endpoint),
            changes={"url": endpoint.url},
        )
        endpoint.delete()


class EndpointDisabled(Exception):
    pass


def send_test(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint; refused while it is disabled."""
    if not endpoint.enabled:
        raise EndpointDisabled(endpoint.pk)
    return webhook_events.send_test_event(endpoint)


def replay(actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a finished delivery again, with the same event id (receivers deduplicate on it)."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(
            pk=delivery.pk, state__in=[WorkState.DONE, WorkState.FAILED]
        ).update(
            state=WorkState.PENDING,
            attempts=0,
            next_attempt_at=None,
            finished_at=None,
            updated_at=timezone.now(),
        )
        audit.record(
            actor,
            AuditAction.WEBHOOK_CHANGE,
            instance=delivery.endpoint.instance_id,
            target=_target(delivery.endpoint),
            changes={"replayed": delivery.event_id},
        )
        from whatsapp import doorbell

        doorbell.ring(doorbell.DELIVER_WEBHOOK, str(delivery.pk))
    delivery.refresh_from_db()
    return delivery


def _target(endpoint: WebhookEndpoint) -> str:
    return f"webhook {endpoint.pk}"


def endpoint_json(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint as the API and the command show it: never its secret."""
    return {
        "id": str(endpoint.pk),
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.event_types) or None,
        "instance": endpoint.instance.slug if endpoint.instance else None,
        "enabled": endpoint.enabled,
        "disabled_at": _time(endpoint.disabled_at),
        "disabled_reason": endpoint.disabled_reason,
        "last_success_at": _time(endpoint.last_success_at),
        "failing_since": _time(endpoint.failing_since),
        "created_at": _time(endpoint.created_at),
    }


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "event_id": delivery.event_id,
        "type": delivery.event_type,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "http_status": delivery.last_status,
        "duration_ms": delivery.duration_ms,
        "answer": delivery.response_excerpt,
        "error": delivery.error,
        "created_at": _time(delivery.created_at),
        "delivered_at": _time(delivery.delivered_at),
        "next_attempt_at": _time(delivery.next_attempt_at),
    }


def recent_deliveries(endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-id")[:limit])


def _time(value: Any) -> str | None:
    return value.isoformat() if value else None
