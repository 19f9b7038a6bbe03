"""API keys and instances remembered between requests, with no delay on a change.

Every REST request reads its API key, and every enqueue its instance: two `SELECT`s that cost a
request more than its `INSERT` (docs/benchmarks.md, "What limits the figures"). Each web process
keeps the rows it read, tagged with a *generation*: a random token in the cache's Redis that
every change to a key or an instance replaces, once it commits (the receivers below). The rate
limit's Lua script reads the generation in the round trip it makes anyway
(`ratelimit.hit(read=…)`), and a row is used only while its tag still matches: a key revoked, a
scope removed or an instance disabled counts from the next request, as without the cache.

Why it is safe:
- the generation is read *before* the rows it tags, so a change committed in between leaves
  them tagged with a generation already replaced;
- nothing is remembered or reused inside a transaction (a row read there may roll back), nor
  when the cache is not Redis or Redis failed: those requests read the database, as before;
- a change whose replacement of the generation failed (Redis unreachable), or made outside
  Django (SQL by hand), counts within `MAX_AGE` at most: no row is used longer than that.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest

from whatsapp import ratelimit
from whatsapp.models import ApiKey, Instance

logger = logging.getLogger(__name__)

MAX_AGE = 30.0
MAX_ENTRIES = 2000
GENERATION = "whatsapp:lookups:generation"
# The instance fields an enqueue decides by (services/message_requests._resolve_instance);
# saves of others (state, pacing, health) leave remembered instances valid.
INSTANCE_FIELDS = frozenset({"slug", "enabled", "is_default"})


@dataclass(frozen=True)
class Entry:
    generation: str
    value: Any
    born: float


_lock = threading.Lock()
_keys: dict[str, Entry] = {}
_instances: dict[str, Entry] = {}


def generation_key() -> str:
    return cache.make_and_validate_key(GENERATION)


def usable() -> bool:
    """Whether this request may use and fill the memory: Redis as cache, outside a transaction."""
    return (
        not ratelimit.cooling_down()
        and ratelimit.redis_client() is not None
        and not transaction.get_connection().in_atomic_block
    )


def current_generation() -> str | None:
    """The generation now, one set if Redis has none (after a flush); None when unusable."""
    client = ratelimit.redis_client() if usable() else None
    if client is None:
        return None
    try:
        value = client.get(generation_key())
        if value is None:
            fresh = uuid.uuid4().hex
            client.set(generation_key(), fresh, nx=True)
            value = client.get(generation_key())
    except Exception as exc:
        ratelimit.failed(exc)
        return None
    return value.decode() if isinstance(value, bytes) else None


def _get(table: dict[str, Entry], name: str) -> Entry | None:
    entry = table.get(name)
    if entry is None or time.monotonic() - entry.born > MAX_AGE:
        return None
    return entry


def _put(table: dict[str, Entry], name: str, generation: str | None, value: Any) -> None:
    if value is None:
        table.pop(name, None)
        return
    if generation is None or not usable():
        return
    with _lock:
        if len(table) >= MAX_ENTRIES:
            table.clear()  # a flood of distinct names; the next requests refill what is used
        table[name] = Entry(generation, value, time.monotonic())


def remembered_key(digest: str) -> Entry | None:
    """The key remembered under this hash, still to be checked against the generation."""
    return _get(_keys, digest) if usable() else None


def load_key(digest: str, generation: str | None) -> ApiKey | None:
    """The active key with this hash, from the database; remembered under `generation`, which
    must have been read before this call."""
    api_key = ApiKey.objects.filter(key_hash=digest, revoked_at__isnull=True).first()
    if api_key is not None and generation is not None and usable() and not api_key.all_instances:
        # Remembered with the key (access._limited_ids reads it): a change replaces the generation.
        ids = list(api_key.instances.values_list("pk", flat=True))
        api_key._whatsapp_instance_ids = ids  # type: ignore[attr-defined]
    _put(_keys, digest, generation, api_key)
    return api_key


def set_generation(request: HttpRequest, generation: str | None) -> None:
    request._whatsapp_generation = generation  # type: ignore[attr-defined]


class InstanceMemo(dict[object, Instance]):
    """`batch.validate_item`'s `instances`, backed by this process's memory for the request's
    generation: a hit needs no `SELECT`, a look-up is remembered for the next request."""

    def __init__(self, generation: str | None) -> None:
        super().__init__()
        self.generation = generation

    def __contains__(self, slug: object) -> bool:
        if super().__contains__(slug):
            return True
        entry = _get(_instances, str(slug)) if self.generation is not None else None
        if entry is None or entry.generation != self.generation or not usable():
            return False
        # A copy: the row must not change under another thread's request.
        super().__setitem__(slug, copy.copy(entry.value))
        return True

    def __setitem__(self, slug: object, instance: Instance) -> None:
        super().__setitem__(slug, instance)
        _put(_instances, str(slug), self.generation, copy.copy(instance))


def instances(request: HttpRequest) -> InstanceMemo:
    return InstanceMemo(getattr(request, "_whatsapp_generation", None))


def forget() -> None:
    """Drop everything this process remembers (tests; `changed` when Redis cannot be told)."""
    with _lock:
        _keys.clear()
        _instances.clear()


def changed() -> None:
    """A key or an instance changed: once the change commits, no process uses what it read."""
    transaction.on_commit(_replace_generation, robust=True)


def _replace_generation() -> None:
    forget()
    client = ratelimit.redis_client()
    if client is None:
        return
    try:
        client.set(generation_key(), uuid.uuid4().hex)
    except Exception as exc:
        # Other processes use what they remember for MAX_AGE at most.
        logger.warning("Could not publish a key or instance change (%s).", type(exc).__name__)


@receiver([post_save, post_delete], sender=ApiKey, dispatch_uid="lookups-key")
def _key_changed(sender: type, **kwargs: Any) -> None:
    changed()


@receiver(m2m_changed, sender=ApiKey.instances.through, dispatch_uid="lookups-key-instances")
def _key_instances_changed(sender: type, **kwargs: Any) -> None:
    changed()


@receiver([post_save, post_delete], sender=Instance, dispatch_uid="lookups-instance")
def _instance_changed(sender: type, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields is None or INSTANCE_FIELDS & set(update_fields):
        changed()
