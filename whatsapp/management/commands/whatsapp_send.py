"""Queue a WhatsApp text from the shell, through the same path as the APIs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from whatsapp.services import outbox


class Command(BaseCommand):
    help = "Queue a text message: whatsapp_send TO TEXT [--instance SLUG]."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("to", help="Phone number, e.g. +5521999999999")
        parser.add_argument("text")
        parser.add_argument("--instance", default=None, help="Instance slug (default instance)")
        parser.add_argument("--priority", default="normal", choices=["high", "normal", "low"])

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            message = outbox.enqueue(
                options["instance"],
                options["to"],
                options["text"],
                priority=options["priority"],
                enqueued_by="command",
            )
        except outbox.MessageValidationError as exc:
            lines = [f"{field}: {' '.join(reasons)}" for field, reasons in exc.errors.items()]
            raise CommandError("\n".join(lines), returncode=2) from None
        self.stdout.write(f"Queued message {message.id} to {message.recipient}.")
