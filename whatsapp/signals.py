"""Django signals for host code in the same process, each sent once the change has committed
(`transaction.on_commit`, so a receiver never sees a change that was rolled back).

    from django.dispatch import receiver
    from whatsapp.signals import message_status_changed

    @receiver(message_status_changed)
    def on_status(sender, message_id, old_status, new_status, **kwargs): ...

- `message_status_changed` (sender `OutboundMessage`): `message_id` (UUID), `old_status`,
  `new_status` (str; every change, the steps of sending too);
- `message_received` (sender `InboundMessage`): `inbound_id` (int), `instance_id` (int);
- `session_status_changed` (sender `Instance`): `instance_id` (int), `old_status`, `new_status`
  (the gateway's statuses), `status` (what `session.status` events say: connected,
  disconnected, needs_scan, logged_out, closed; None for a step of no interest), `reason` (str);
- `webhook_endpoint_disabled` (sender `WebhookEndpoint`): `endpoint_id` (UUID), `url`, `reason`.

A receiver that raises is logged and does not stop the others (nor undo the change).
"""

from __future__ import annotations

from django.dispatch import Signal

message_status_changed = Signal()
message_received = Signal()
session_status_changed = Signal()
webhook_endpoint_disabled = Signal()
