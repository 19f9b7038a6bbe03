"""Ambiguous sends escalate: flagged after the grace period, shown, announced, counted, and
resolved by a person, with who and when recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.messages.conftest import phone
from whatsapp import api, doorbell
from whatsapp.models import MessageAttempt, OutboundMessage
from whatsapp.services import dispatch, message_sweep, reconcile, review, send, transitions

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(connected_instance):
    return connected_instance


def ambiguous(instance, sim, text: str = "did it go?") -> OutboundMessage:
    """A send whose answer was lost, on a gateway whose look-ups fail."""
    message = api.send_text(phone(1), text)
    result = dispatch.dispatch_instance(instance.pk)
    sim.set_fault("send-message", drop_rate=1.0)
    assert result.token is not None
    outcome = send.send(result.claimed[0], result.token)
    assert outcome is not None and outcome.status == "unknown"
    sim.set_fault("message-by-id", error_rate=1.0)
    sim.set_fault("get-messages", error_rate=1.0)
    assert reconcile.reconcile(message.pk)[0].startswith("look-up failed")
    return OutboundMessage.objects.get(pk=message.pk)


def age(message: OutboundMessage, seconds: float) -> None:
    MessageAttempt.objects.filter(message=message).update(
        started_at=timezone.now() - timedelta(seconds=seconds)
    )


@pytest.fixture
def heard():
    seen: list[tuple] = []
    transitions.on_change(lambda *change: seen.append(change))
    yield seen
    transitions._listeners.pop()


def test_an_unknown_send_is_flagged_after_the_grace_period_and_announced_once(
    instance, sim, whatsapp_conf, heard
):
    whatsapp_conf.UNKNOWN_GRACE = 600
    message = ambiguous(instance, sim)
    age(message, 599)
    message_sweep.sweep()
    assert OutboundMessage.objects.get(pk=message.pk).needs_review_since is None
    age(message, 601)
    heard.clear()
    assert message_sweep.sweep().flagged == 1
    assert message_sweep.sweep().flagged == 0
    message.refresh_from_db()
    assert message.needs_review_since is not None and message.status == "unknown"
    assert heard == [(message.pk, "unknown", transitions.NEEDS_REVIEW)]
    assert review.count_needing_review() == 1
    assert review.count_needing_review(instance.pk) == 1


def test_a_flagged_message_is_still_looked_up_and_found_clears_the_flag(
    instance, sim, whatsapp_conf
):
    whatsapp_conf.UNKNOWN_GRACE = 1
    message = ambiguous(instance, sim)
    age(message, 60)
    message_sweep.sweep()
    sim.clear_faults()
    assert reconcile.reconcile(message.pk)[0] == "found: sent"
    message.refresh_from_db()
    assert message.status == "sent" and message.needs_review_since is None


@pytest.fixture
def flagged(instance, sim, whatsapp_conf):
    whatsapp_conf.UNKNOWN_GRACE = 1
    message = ambiguous(instance, sim)
    age(message, 60)
    message_sweep.sweep()
    return OutboundMessage.objects.get(pk=message.pk)


def test_the_session_page_and_the_messages_page_show_it_with_its_attempts(
    operator_client, instance, flagged
):
    for url in (reverse("dashboard-session", args=[instance.slug]), reverse("dashboard-messages")):
        page = operator_client.get(url).content.decode()
        assert f'data-review-message="{flagged.pk}"' in page, url
        assert "did it go?" in page
        assert reverse("dashboard-message-resolve", args=[flagged.pk]) in page


def test_an_operator_marks_it_sent_and_who_and_when_are_recorded(
    operator_client, operator, flagged, heard
):
    response = operator_client.post(
        reverse("dashboard-message-resolve", args=[flagged.pk]), {"resolution": "sent"}
    )
    assert response.status_code == 302
    flagged.refresh_from_db()
    assert flagged.status == "sent" and flagged.needs_review_since is None
    assert flagged.resolution == "sent" and flagged.resolved_by == operator.username
    assert flagged.resolved_at is not None and flagged.sent_at is not None
    assert heard == [(flagged.pk, "unknown", "sent")]


def test_an_operator_sends_it_again(operator_client, flagged, rung, instance):
    rung.clear()
    operator_client.post(
        reverse("dashboard-message-resolve", args=[flagged.pk]), {"resolution": "resend"}
    )
    flagged.refresh_from_db()
    assert flagged.status == "queued" and flagged.attempts == 0
    assert flagged.resolution == "resend" and flagged.resolved_by
    assert rung.args_of(doorbell.DISPATCH) == [instance.pk]


def test_only_the_operate_permission_may_resolve(client, django_user_model, flagged):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_instance"))
    client.force_login(viewer)
    url = reverse("dashboard-message-resolve", args=[flagged.pk])
    assert client.post(url, {"resolution": "sent"}).status_code == 403
    assert OutboundMessage.objects.get(pk=flagged.pk).status == "unknown"


def test_a_message_not_waiting_for_review_cannot_be_resolved(instance):
    message = api.send_text(phone(1), "just queued")
    with pytest.raises(api.InvalidTransition):
        review.resolve(message.pk, "sent", "someone")
    assert OutboundMessage.objects.get(pk=message.pk).status == "queued"


def test_the_admin_resolves_with_an_action(admin_client, admin_user, flagged):
    response = admin_client.post(
        "/admin/whatsapp/outboundmessage/",
        {"action": "resolve_sent", "_selected_action": [str(flagged.pk)]},
    )
    assert response.status_code == 302
    flagged.refresh_from_db()
    assert flagged.status == "sent" and flagged.resolved_by == admin_user.username
    listing = admin_client.get("/admin/whatsapp/outboundmessage/?needs_review=yes")
    assert listing.context["cl"].result_count == 0
