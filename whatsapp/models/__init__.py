from whatsapp.models.alert import Alert, AlertMark
from whatsapp.models.apikey import ApiKey
from whatsapp.models.audit import AuditEntry
from whatsapp.models.events import GatewayEvent, InboundMessage
from whatsapp.models.health import HealthSample
from whatsapp.models.instance import Instance
from whatsapp.models.media import InboundMedia, MediaFetch, MediaFile
from whatsapp.models.message import MessageAttempt, OutboundMessage
from whatsapp.models.operation import SessionOperation
from whatsapp.models.webhook import WebhookDelivery, WebhookEndpoint

__all__ = [
    "Alert",
    "AlertMark",
    "ApiKey",
    "AuditEntry",
    "GatewayEvent",
    "HealthSample",
    "InboundMedia",
    "InboundMessage",
    "Instance",
    "MediaFetch",
    "MediaFile",
    "MessageAttempt",
    "OutboundMessage",
    "SessionOperation",
    "WebhookDelivery",
    "WebhookEndpoint",
]
