"""Per-number permissions: which instances a dashboard user or an API key may see and act on.

One rule for both:
- an API key uses every instance when `all_instances` is on, else only those it lists;
- a superuser uses every instance; a user listed on any instance (`Instance.operators`) uses only
  the instances that list them; a user listed on none uses every instance their permissions
  allow.

Pages, JSON endpoints, the REST API and the admin all ask here:

    access.instances_for(request.user)             # a queryset of instances
    access.may_use(request.auth, instance)         # one instance
    access.restrict(queryset, request.user)        # rows with an `instance` field
    access.restrict(queryset, user, "message__instance")
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from whatsapp.models import ApiKey, InboundMedia, Instance, MediaFile, OutboundMessage
from whatsapp.scopes import Scope

M = TypeVar("M", bound=Model)


def _limited_ids(actor: Any) -> list[int] | None:
    """The ids of the instances the actor is limited to; None when it may use all."""
    if isinstance(actor, ApiKey):
        if actor.all_instances:
            return None
        remembered: list[int] | None = getattr(actor, "_whatsapp_instance_ids", None)
        if remembered is not None:
            return list(remembered)  # whatsapp/lookups.py keeps it current
        return list(actor.instances.values_list("pk", flat=True))
    if actor is None or not getattr(actor, "is_authenticated", False):
        return []
    if actor.is_superuser:
        return None
    cached: list[int] | bool | None = getattr(actor, "_whatsapp_instance_ids", False)
    if cached is not False:
        return cached if isinstance(cached, list) else None
    ids = list(Instance.objects.filter(operators=actor).values_list("pk", flat=True))
    limited = ids or None
    actor._whatsapp_instance_ids = limited
    return limited


def limited(actor: Any) -> bool:
    """True when the actor may use only some instances (not every one, present and future)."""
    return _limited_ids(actor) is not None


def instances_for(actor: Any) -> QuerySet[Instance]:
    ids = _limited_ids(actor)
    rows = Instance.objects.all()
    return rows if ids is None else rows.filter(pk__in=ids)


def may_use(actor: Any, instance: Instance | int) -> bool:
    ids = _limited_ids(actor)
    pk = instance.pk if isinstance(instance, Instance) else instance
    return ids is None or pk in ids


def restrict(queryset: QuerySet[M], actor: Any, field: str = "instance") -> QuerySet[M]:
    ids = _limited_ids(actor)
    return queryset if ids is None else queryset.filter(**{f"{field}__in": ids})


def messages_for_key(
    key: ApiKey, queryset: QuerySet[OutboundMessage] | None = None
) -> QuerySet[OutboundMessage]:
    """The messages a key may read (and so cancel): of its instances, its own unless read-all."""
    rows = restrict(
        queryset if queryset is not None else OutboundMessage.objects.all(), key, "instance"
    )
    return rows if key.has_scope(Scope.READ_ALL) else rows.filter(api_key=key)


def may_read_media(key: ApiKey, media: MediaFile) -> bool:
    """A file a key may download: one of a message it may read, or one received by an instance
    it uses. A key on every instance with read-all may read any (its fresh uploads too)."""
    if key.all_instances and key.has_scope(Scope.READ_ALL):
        return True
    if messages_for_key(key).filter(media=media).exists():
        return True
    received = InboundMedia.objects.filter(file=media)
    return restrict(received, key, "inbound__instance").exists()
