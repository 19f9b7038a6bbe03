from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    SESSION_START = "session.start", _("Session started")
    SESSION_CLOSE = "session.close", _("Session closed")
    SESSION_LOGOUT = "session.logout", _("Session logged out")
    INSTANCE_CREATE = "instance.create", _("Instance created")
    INSTANCE_CHANGE = "instance.change", _("Instance settings changed")
    INSTANCE_DELETE = "instance.delete", _("Instance deleted")
    KEY_CREATE = "apikey.create", _("API key created")
    KEY_CHANGE = "apikey.change", _("API key changed")
    KEY_REVOKE = "apikey.revoke", _("API key revoked")
    WEBHOOK_CREATE = "webhook.create", _("Webhook endpoint created")
    WEBHOOK_CHANGE = "webhook.change", _("Webhook endpoint changed")
    WEBHOOK_DELETE = "webhook.delete", _("Webhook endpoint deleted")
    MESSAGE_CANCEL = "message.cancel", _("Message cancelled")
    MESSAGE_REQUEUE = "message.requeue", _("Message queued again")
    MESSAGE_RESOLVE = "message.resolve", _("Ambiguous send resolved")


class AuditEntry(models.Model):
    """Who did what to which instance or message, when, and from which address.

    Written by `whatsapp.audit.record` in the transaction of the action itself, so an entry
    exists exactly when the action happened. Secrets are never stored: a changed secret shows
    as changed, without either value.
    """

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    action = models.CharField(_("action"), max_length=40, choices=AuditAction.choices)
    # "alice", "api:billing", "command:root", "python": readable after the user or key is gone.
    actor = models.CharField(_("who"), max_length=160)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("user"),
    )
    api_key = models.ForeignKey(
        "whatsapp.ApiKey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("API key"),
    )
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    instance = models.ForeignKey(
        "whatsapp.Instance",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("instance"),
    )
    # Not a foreign key: messages are pruned long before their audit entries.
    message_id = models.UUIDField(_("message"), null=True, blank=True, db_index=True)
    target = models.CharField(_("target"), max_length=200, blank=True)
    # {field: [before, after]}; secrets as {field: "changed"}.
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at"]
        indexes = [models.Index(fields=["instance", "at"], name="audit_instance_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"
