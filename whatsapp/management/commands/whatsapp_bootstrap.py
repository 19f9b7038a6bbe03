"""Create or update the default instance from WPPCONNECT_URL / _SECRET_KEY / _SESSION."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from whatsapp.services.instances import bootstrap_default, validate_session_name


class Command(BaseCommand):
    help = "Create or update the default WhatsApp instance from the environment (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        url = settings.WPPCONNECT_URL
        session = settings.WPPCONNECT_SESSION
        problem = validate_session_name(session)
        if problem:
            raise CommandError(f"WPPCONNECT_SESSION {session!r}: {problem}", returncode=2)
        if not url.startswith(("http://", "https://")):
            raise CommandError(f"WPPCONNECT_URL must be an http(s) URL, not {url!r}.", returncode=2)
        result = bootstrap_default(url, settings.WPPCONNECT_SECRET_KEY, session)
        instance = result.instance
        if result.created:
            self.stdout.write(
                f"Created the default instance {instance.slug!r} ({session} at {url})."
            )
        elif result.changed:
            self.stdout.write(
                f"Updated the default instance {instance.slug!r}: {', '.join(result.changed)}."
            )
        else:
            self.stdout.write(f"The default instance {instance.slug!r} is up to date.")
        if not instance.has_secret_key:
            self.stderr.write(
                "WPPCONNECT_SECRET_KEY is empty: set it, or enter it in the dashboard."
            )
