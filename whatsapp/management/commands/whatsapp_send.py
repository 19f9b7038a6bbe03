"""Queue a WhatsApp message from the shell, through the same path as the APIs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from whatsapp.models.media import MediaKind
from whatsapp.services import media_input, outbox


class Command(BaseCommand):
    help = (
        "Queue a message: whatsapp_send TO TEXT [--instance SLUG]; a file with "
        "whatsapp_send TO --file PATH [--caption TEXT] [--kind KIND]."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("to", help="Phone number, e.g. +5521999999999, or a group id")
        parser.add_argument("text", nargs="?", default=None, help="The text (a file's caption)")
        parser.add_argument("--instance", default=None, help="Instance slug (default instance)")
        parser.add_argument("--priority", default="normal", choices=["high", "normal", "low"])
        parser.add_argument("--file", default=None, help="Send this file (its type is read)")
        parser.add_argument("--caption", default=None, help="The file's caption")
        parser.add_argument(
            "--kind",
            default=None,
            choices=[k for k in MediaKind.values if k != MediaKind.STICKER],
            help="What the file goes as; read from its content when absent",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        file = None
        try:
            text, content = options["text"], None
            if options["file"] is not None:
                file = media_input.prepare(options["file"])
                content = {"caption": options["caption"] or text, "type": options["kind"]}
                text = None
            message = outbox.enqueue(
                options["instance"],
                options["to"],
                text,
                priority=options["priority"],
                content=content,
                file=file,
                enqueued_by="command",
            )
        except outbox.MessageValidationError as exc:
            lines = [f"{field}: {' '.join(reasons)}" for field, reasons in exc.errors.items()]
            raise CommandError("\n".join(lines), returncode=2) from None
        finally:
            if file is not None:
                file.close()
        self.stdout.write(f"Queued message {message.id} to {message.recipient}.")
