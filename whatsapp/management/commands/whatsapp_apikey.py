"""API keys for the REST API: `create NAME` prints the key once; `list`; `revoke NAME`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError
from django.utils import timezone

from whatsapp.models import ApiKey


class Command(BaseCommand):
    help = "Create, list or revoke API keys for /api/v1/. Only a hash of each key is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print it (shown only once).")
        create.add_argument("name")
        sub.add_parser("list", help="List keys: name, prefix, created, last used, revoked.")
        revoke = sub.add_parser("revoke", help="Revoke a key by name.")
        revoke.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            name = options["name"].strip()
            if not name:
                raise CommandError("Give the key a name.", returncode=2)
            try:
                _api_key, key = ApiKey.create(name)
            except IntegrityError:
                raise CommandError(f"A key named {name!r} already exists.", returncode=2) from None
            self.stdout.write(key)
            self.stderr.write(
                f"Created API key {name!r}. Store it now: it is not kept and cannot be shown again."
            )
        elif action == "list":
            for api_key in ApiKey.objects.order_by("name"):
                used = api_key.last_used_at.isoformat() if api_key.last_used_at else "never"
                revoked = (
                    f"  revoked {api_key.revoked_at.isoformat()}" if api_key.revoked_at else ""
                )
                self.stdout.write(
                    f"{api_key.name}\t{api_key.prefix}…\tcreated {api_key.created_at.isoformat()}"
                    f"\tlast used {used}{revoked}"
                )
        elif action == "revoke":
            changed = ApiKey.objects.filter(name=options["name"], revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
            if not changed:
                raise CommandError(f"No active key named {options['name']!r}.", returncode=2)
            self.stdout.write(f"Revoked API key {options['name']!r}.")
