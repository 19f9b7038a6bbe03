"""Create or update the default instance from WHATSAPP's GATEWAY_URL, GATEWAY_SECRET_KEY and
SESSION_NAME."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from whatsapp.conf import conf
from whatsapp.services.instances import bootstrap_default, validate_session_name


class Command(BaseCommand):
    help = "Create or update the default WhatsApp instance from the environment (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        url = conf.GATEWAY_URL
        session = conf.SESSION_NAME
        problem = validate_session_name(session)
        if problem:
            raise CommandError(f"WHATSAPP['SESSION_NAME'] {session!r}: {problem}", returncode=2)
        if not url.startswith(("http://", "https://")):
            raise CommandError(
                f"WHATSAPP['GATEWAY_URL'] must be an http(s) URL, not {url!r}.", returncode=2
            )
        result = bootstrap_default(url, conf.GATEWAY_SECRET_KEY, session)
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
                "WHATSAPP['GATEWAY_SECRET_KEY'] is empty: set it, or enter it in the dashboard."
            )
