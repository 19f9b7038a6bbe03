"""Re-encrypt every encrypted value from the previous WHATSAPP_ENCRYPTION_KEY to the current one.

    WHATSAPP_OLD_ENCRYPTION_KEY=<previous> python manage.py whatsapp_rotate_key [--dry-run]

The new key is the configured one (WHATSAPP["ENCRYPTION_KEY"]); the old one comes from the
environment or a file, never from the command line, where `ps` would show it. Every column in
`whatsapp.crypto.ENCRYPTED` is rotated in one transaction: a value that neither key opens stops
the whole run and nothing changes. Values already under the new key are left as they are, so the
command can be run again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from whatsapp import crypto
from whatsapp.conf import conf

OLD_KEY_VARIABLE = "WHATSAPP_OLD_ENCRYPTION_KEY"


class Command(BaseCommand):
    help = "Re-encrypt stored secrets from the previous WHATSAPP_ENCRYPTION_KEY to the current one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--old-key-file", help=f"a file holding the previous key (else ${OLD_KEY_VARIABLE})"
        )
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        old = self.old_key(options["old_key_file"])
        new = conf.ENCRYPTION_KEY
        if not new:
            raise CommandError("WHATSAPP_ENCRYPTION_KEY (the new key) is not set.", returncode=2)
        if old == new:
            raise CommandError("The old and the new key are the same.", returncode=2)
        with transaction.atomic():
            rotated, current = 0, 0
            for entry in crypto.ENCRYPTED:
                done, already = self.rotate_field(entry, old, new, dry_run=options["dry_run"])
                rotated, current = rotated + done, current + already
                self.stdout.write(
                    f"{entry.model}.{entry.field}: {done} re-encrypted, {already} already current"
                )
        verb = "would be re-encrypted" if options["dry_run"] else "re-encrypted"
        self.stdout.write(f"{rotated} value(s) {verb}; {current} already under the new key.")

    def old_key(self, path: str | None) -> str:
        if path:
            try:
                return Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise CommandError(f"{path}: {exc.strerror}", returncode=2) from None
        key = os.environ.get(OLD_KEY_VARIABLE, "")
        if not key:
            raise CommandError(
                f"Give the previous key in {OLD_KEY_VARIABLE} or with --old-key-file.",
                returncode=2,
            )
        return key

    def rotate_field(
        self, entry: crypto.EncryptedField, old: str, new: str, *, dry_run: bool
    ) -> tuple[int, int]:
        model = apps.get_model(entry.model)
        rows = model.objects.select_for_update().exclude(**{entry.field: ""})
        done = already = 0
        for pk, token in rows.values_list("pk", entry.field):
            if crypto.readable(token, new):
                already += 1
                continue
            if not crypto.readable(token, old):
                # Nothing is written: the transaction is rolled back by the exception.
                raise CommandError(
                    f"{entry.model} {pk}: {entry.field} opens with neither key; nothing was "
                    "changed. Check the previous key.",
                    returncode=1,
                )
            if not dry_run:
                model.objects.filter(pk=pk).update(**{entry.field: crypto.rotate(token, old, new)})
            done += 1
        return done, already
