"""Outgoing webhook endpoints: `add URL` prints the endpoint's id and signing secret once;
`list`; `remove ID`; `test ID`.

manage.py whatsapp_webhook add https://app.example.com/hook --events message.status --instance main
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from whatsapp import audit
from whatsapp.models import WebhookEndpoint
from whatsapp.services import webhook_endpoints as endpoints


def _endpoint(endpoint_id: str) -> WebhookEndpoint:
    try:
        return endpoints.get(endpoint_id)
    except endpoints.EndpointNotFound:
        raise CommandError(f"No webhook endpoint with id {endpoint_id!r}.", returncode=2) from None


def _explain(exc: endpoints.EndpointError) -> CommandError:
    lines = [f"--{field}: {reason}" if field != "url" else f"URL: {reason}"
             for field, reasons in exc.errors.items() for reason in reasons]  # fmt: skip
    return CommandError("\n".join(lines), returncode=2)


class Command(BaseCommand):
    help = "Add, list, remove or test outgoing webhook endpoints (docs/events.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Add an endpoint; prints its id and secret (only once).")
        add.add_argument("url")
        add.add_argument(
            "--events",
            default="",
            help=f"Comma-separated, from: {', '.join(endpoints.EVENT_TYPES)} (default: all).",
        )
        add.add_argument("--instance", default="", help="Only this instance's events.")
        add.add_argument("--description", default="")
        sub.add_parser("list", help="List endpoints: id, state, events, instance, URL.")
        remove = sub.add_parser("remove", help="Remove an endpoint by id.")
        remove.add_argument("id")
        test = sub.add_parser("test", help="Queue a webhook.test event for an endpoint.")
        test.add_argument("id")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            self._add(options)
        elif action == "list":
            self._list()
        elif action == "remove":
            endpoints.remove(audit.Actor.command(), _endpoint(options["id"]))
            self.stdout.write(f"Removed {options['id']}.")
        elif action == "test":
            self._test(options["id"])

    def _add(self, options: dict[str, Any]) -> None:
        events = [part.strip() for part in options["events"].split(",") if part.strip()]
        try:
            row, secret = endpoints.create(
                audit.Actor.command(),
                url=options["url"],
                events=events,
                instance=options["instance"] or None,
                description=options["description"],
            )
        except endpoints.EndpointError as exc:
            raise _explain(exc) from None
        self.stdout.write(f"id: {row.pk}")
        self.stdout.write(f"secret: {secret}")
        self.stderr.write("Keep the secret now: it is not shown again (docs/events.md).")

    def _list(self) -> None:
        rows = WebhookEndpoint.objects.select_related("instance").order_by("created_at")
        for row in rows:
            state = "enabled" if row.enabled else f"disabled ({row.disabled_reason})"
            events = ",".join(row.event_types) or "all events"
            instance = row.instance.slug if row.instance else "all instances"
            self.stdout.write(f"{row.pk}  {state}  {events}  {instance}  {row.url}")

    def _test(self, endpoint_id: str) -> None:
        row = _endpoint(endpoint_id)
        try:
            delivery = endpoints.send_test(row)
        except endpoints.EndpointDisabled:
            raise CommandError("This endpoint is disabled.", returncode=2) from None
        self.stdout.write(f"Queued test event {delivery.event_id} for {row.url}.")
