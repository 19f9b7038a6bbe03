"""Create the first admin user, once: from DJANGO_SUPERUSER_* or with a generated password."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an admin user if none exists (DJANGO_SUPERUSER_USERNAME/PASSWORD/EMAIL)."

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin user already exists; nothing to do.")
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL") or ""
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = not password
        if not password:
            password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email=email, password=password)
        if generated:
            # Printed once, here only: it is not stored anywhere else in clear.
            self.stdout.write(
                self.style.WARNING(
                    f"Created admin user {username!r} with password: {password}\n"
                    "Write it down now; it is not shown again (change it in the admin)."
                )
            )
        else:
            self.stdout.write(f"Created admin user {username!r} from DJANGO_SUPERUSER_*.")
