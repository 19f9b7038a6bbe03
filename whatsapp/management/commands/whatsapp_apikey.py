"""API keys for the REST API: `create NAME` prints the key once; `list`; `revoke NAME`.

manage.py whatsapp_apikey create billing --instances main,support --scopes send,read
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction
from django.utils import timezone

from whatsapp import audit, lookups
from whatsapp.models import ApiKey, Instance
from whatsapp.models.audit import AuditAction
from whatsapp.scopes import ALL_SCOPES, DEFAULT_SCOPES, parse_scopes


def _instances(text: str) -> list[Instance] | None:
    """None for every instance ("*" or "all"); the rows named otherwise."""
    if text.strip() in ("*", "all"):
        return None
    slugs = [slug.strip() for slug in text.split(",") if slug.strip()]
    if not slugs:
        raise CommandError("Name at least one instance, or * for every instance.", returncode=2)
    found = {row.slug: row for row in Instance.objects.filter(slug__in=slugs)}
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise CommandError(f"No instance called: {', '.join(missing)}.", returncode=2)
    return [found[slug] for slug in slugs]


class Command(BaseCommand):
    help = "Create, list or revoke API keys for /api/v1/. Only a hash of each key is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print it (shown only once).")
        create.add_argument("name")
        create.add_argument(
            "--instances",
            default="*",
            help="Comma-separated instance slugs the key may use; * (the default) for every one.",
        )
        create.add_argument(
            "--scopes",
            default=",".join(DEFAULT_SCOPES),
            help=f"Comma-separated, from: {', '.join(ALL_SCOPES)} "
            f"(default: {','.join(DEFAULT_SCOPES)}).",
        )
        sub.add_parser("list", help="List keys: name, prefix, scopes, instances, use, revoked.")
        revoke = sub.add_parser("revoke", help="Revoke a key by name (for good).")
        revoke.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options)
        elif action == "list":
            self._list()
        elif action == "revoke":
            self._revoke(options["name"])

    def _create(self, options: dict[str, Any]) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("Give the key a name.", returncode=2)
        try:
            scopes = parse_scopes(options["scopes"])
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from None
        instances = _instances(options["instances"])
        try:
            with transaction.atomic():
                api_key, key = ApiKey.create(name, scopes=scopes, instances=instances)
                audit.record(
                    audit.Actor.command(),
                    AuditAction.KEY_CREATE,
                    target=str(api_key),
                    changes={"scopes": scopes, "instances": _describe(instances)},
                )
        except IntegrityError:
            raise CommandError(f"A key named {name!r} already exists.", returncode=2) from None
        self.stdout.write(key)
        self.stderr.write(
            f"Created API key {name!r} (scopes: {', '.join(scopes) or 'none'}; instances: "
            f"{', '.join(_describe(instances))}). Store it now: it is not kept and cannot be "
            "shown again."
        )

    def _list(self) -> None:
        for api_key in ApiKey.objects.order_by("name").prefetch_related("instances"):
            used = api_key.last_used_at.isoformat() if api_key.last_used_at else "never"
            revoked = f"  revoked {api_key.revoked_at.isoformat()}" if api_key.revoked_at else ""
            where = (
                ["*"] if api_key.all_instances else [row.slug for row in api_key.instances.all()]
            )
            self.stdout.write(
                f"{api_key.name}\t{api_key.prefix}…\tscopes {','.join(api_key.scopes) or '-'}"
                f"\tinstances {','.join(where) or '-'}"
                f"\tcreated {api_key.created_at.isoformat()}\tlast used {used}{revoked}"
            )

    def _revoke(self, name: str) -> None:
        with transaction.atomic():
            api_key = ApiKey.objects.filter(name=name, revoked_at__isnull=True).first()
            if api_key is None:
                raise CommandError(f"No active key named {name!r}.", returncode=2)
            ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())
            lookups.changed()  # no web process uses the key once this commits
            audit.record(audit.Actor.command(), AuditAction.KEY_REVOKE, target=str(api_key))
        self.stdout.write(f"Revoked API key {name!r}.")


def _describe(instances: list[Instance] | None) -> list[str]:
    return ["*"] if instances is None else [row.slug for row in instances]
