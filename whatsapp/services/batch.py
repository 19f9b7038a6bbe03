"""Batches: many messages checked one by one, the valid ones inserted together.

Each item stands alone: a bad item gets its own errors in place and never stops the others. All
valid items go in one transaction and ring the dispatcher once per instance (design: Enqueue).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from whatsapp import access
from whatsapp.models import ApiKey, Instance, OutboundMessage
from whatsapp.services import outbox
from whatsapp.services.instances import InstanceNotFound, get_instance
from whatsapp.services.media_store import Prepared
from whatsapp.services.message_content import CONTENT_FIELDS
from whatsapp.services.message_media import Attach
from whatsapp.services.outbox import IdempotencyConflict, MessageValidationError, SendRequest

MAX_BATCH = 1000
# The fields of one message, the same for the Python API, a REST message and a batch item.
ITEM_FIELDS = (
    "to",
    "text",
    "instance",
    "priority",
    "send_after",
    "expires_at",
    "idempotency_key",
    "metadata",
    "type",
    "reply_to",
    *sorted(CONTENT_FIELDS - {"text"}),
)


class InstanceNotAllowed(MessageValidationError):
    """The API key may not use the item's instance."""


@dataclass(frozen=True)
class ItemResult:
    """One item's outcome: a message (created or replayed) or its errors."""

    index: int
    message: OutboundMessage | None = None
    created: bool = False
    error: MessageValidationError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def code(self) -> str | None:
        if self.error is None:
            return None
        if isinstance(self.error, InstanceNotAllowed):
            return "instance_not_allowed"
        return "idempotency_conflict" if isinstance(self.error, IdempotencyConflict) else "invalid"


def validate_item(
    item: object, instances: dict[object, Instance] | None = None, *, file: Prepared | None = None
) -> SendRequest:
    """One item, as a mapping of ITEM_FIELDS; raises MessageValidationError.

    `instances` remembers the instances already looked up, so a batch asks once per slug.
    `file` is a file the Python API read (bytes, a path, a file object).
    """
    if not isinstance(item, Mapping):
        raise MessageValidationError({"item": [_("Give each message as a JSON object.")]})
    unknown = [str(key) for key in item if key not in ITEM_FIELDS]
    if unknown:
        raise MessageValidationError({key: [_("This field is not known.")] for key in unknown})
    problems = _text_problems(item)
    if problems:
        raise MessageValidationError(problems)
    instance = item.get("instance")
    if instances is not None and (instance is None or isinstance(instance, str)):
        key = (instance or "").strip()
        if key not in instances:
            try:
                instances[key] = get_instance(key or None)
            except InstanceNotFound:
                pass  # validate() below says so, for this item
        instance = instances.get(key, instance)
    return outbox.validate(
        item.get("to"),
        item.get("text"),
        instance=instance,
        idempotency_key=item.get("idempotency_key"),
        send_after=item.get("send_after"),
        expires_at=item.get("expires_at"),
        priority="normal" if item.get("priority") is None else item.get("priority"),
        metadata=item.get("metadata"),
        content={key: item.get(key) for key in ("type", "reply_to", *CONTENT_FIELDS)},
        file=file,
    )


TIME_FIELDS = ("send_after", "expires_at")


def _text_problems(item: Mapping[str, object]) -> dict[str, list[str]]:
    """Problems only a mapping shows: a priority of the wrong type, and empty times, per field.

    An empty `send_after` is an absent one for `send_text`'s keyword arguments, but a JSON
    client that sends "" has sent a time that is not one.
    """
    problems: dict[str, list[str]] = {}
    if item.get("priority") is not None and not isinstance(item.get("priority"), str):
        problems["priority"] = [_("Use “high”, “normal” or “low”.")]
    for field in TIME_FIELDS:
        value = item.get(field)
        if isinstance(value, str) and not value.strip():
            problems[field] = [_("Enter a date and time in ISO 8601, e.g. 2030-01-31T14:30:00Z.")]
    # Every other field's own check (outbox.validate) names what is wrong with a NUL or a lone
    # surrogate in its terms ("printable", "slug", "ISO 8601"): no blanket message before it.
    return problems


def not_allowed(instance: Instance) -> InstanceNotAllowed:
    return InstanceNotAllowed(
        {
            "instance": [
                _("This API key may not use the instance “%(slug)s”.") % {"slug": instance.slug}
            ]
        }
    )


def check_items(
    items: Iterable[object], *, api_key: ApiKey | None = None
) -> list[SendRequest | MessageValidationError]:
    """Each item validated; with `api_key`, an item on an instance it may not use is refused."""
    checked: list[SendRequest | MessageValidationError] = []
    instances: dict[object, Instance] = {}
    for item in items:
        try:
            request = validate_item(item, instances)
            if api_key is not None and not access.may_use(api_key, request.instance):
                raise not_allowed(request.instance)
            checked.append(request)
        except MessageValidationError as exc:
            checked.append(exc)
    return checked


def _conflict() -> IdempotencyConflict:
    return IdempotencyConflict(
        {"idempotency_key": [_("This idempotency key was already used for a different message.")]}
    )


def _stored(
    pairs: Iterable[tuple[int, str]], api_key: ApiKey | None
) -> dict[tuple[int, str], OutboundMessage]:
    """The messages this caller already made with these (instance, key) pairs, in one query."""
    keys: dict[int, set[str]] = {}
    for instance_id, key in pairs:
        keys.setdefault(instance_id, set()).add(key)
    if not keys:
        return {}
    match = Q()
    for instance_id, values in keys.items():
        match |= Q(instance_id=instance_id, idempotency_key__in=values)
    found = OutboundMessage.objects.select_related("instance").filter(match, api_key=api_key)
    return {(m.instance_id, m.idempotency_key or ""): m for m in found}


def _replay(message: OutboundMessage, fingerprint: str, index: int) -> ItemResult:
    if message.request_fingerprint != fingerprint:
        return ItemResult(index, error=_conflict())
    return ItemResult(index, message=message, created=False)


def enqueue_many(
    checked: Sequence[SendRequest | MessageValidationError],
    *,
    enqueued_by: str = "",
    api_key: ApiKey | None = None,
) -> list[ItemResult]:
    """Insert every valid item in one transaction; results in the items' order."""
    pairs = [
        (item.instance.pk, item.idempotency_key)
        for item in checked
        if isinstance(item, SendRequest) and item.idempotency_key
    ]
    with transaction.atomic():
        stored = _stored(pairs, api_key)
        results: list[ItemResult | None] = []
        new: list[tuple[int, OutboundMessage]] = []
        attach = Attach()
        for index, item in enumerate(checked):
            if isinstance(item, MessageValidationError):
                results.append(ItemResult(index, error=item))
                continue
            fingerprint = item.fingerprint()
            key = (item.instance.pk, item.idempotency_key or "")
            if item.idempotency_key and key in stored:
                results.append(_replay(stored[key], fingerprint, index))
                continue
            try:
                row = outbox.new_row(item, fingerprint, enqueued_by, attach, api_key)
            except MessageValidationError as exc:
                results.append(ItemResult(index, error=exc))
                continue
            if item.idempotency_key:
                stored[key] = row  # a repeat later in this batch replays this one
            new.append((index, row))
            results.append(None)
        _insert(new, results, api_key)
        for instance_id in sorted({row.instance_id for _i, row in new}):
            outbox.ring_on_commit(instance_id)
    return [result for result in results if result is not None]


def _insert(
    new: list[tuple[int, OutboundMessage]],
    results: list[ItemResult | None],
    api_key: ApiKey | None,
) -> None:
    """Insert the rows; one that lost a race for its key is resolved as a replay or a conflict."""
    rows = [row for _index, row in new]
    keyed = any(row.idempotency_key for row in rows)
    OutboundMessage.objects.bulk_create(rows, batch_size=500, ignore_conflicts=keyed)
    inserted = {row.pk for row in rows}
    if keyed:  # ignore_conflicts leaves no trace of what it skipped: ask
        found = OutboundMessage.objects.filter(pk__in=inserted).values_list("pk", flat=True)
        inserted = set(found)
    lost = [row for _index, row in new if row.pk not in inserted]
    winners = _stored(((row.instance_id, row.idempotency_key or "") for row in lost), api_key)
    for index, row in new:
        if row.pk in inserted:
            results[index] = ItemResult(index, message=row, created=True)
            continue
        winner = winners[(row.instance_id, row.idempotency_key or "")]
        results[index] = _replay(winner, row.request_fingerprint, index)
    new[:] = [(index, row) for index, row in new if row.pk in inserted]
