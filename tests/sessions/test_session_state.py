"""The one writer of session state: one transition rule, each change announced once."""

from __future__ import annotations

import pytest

from whatsapp import doorbell
from whatsapp.models.instance import SessionStatus
from whatsapp.services import session_state
from whatsapp.services.session_state import Observed

pytestmark = pytest.mark.django_db


@pytest.fixture
def changes(monkeypatch):
    seen = []
    monkeypatch.setattr(session_state, "_listeners", [*session_state._listeners, seen.append])
    return seen


def test_connected_is_true_exactly_when_the_status_is_connected(make_instance, rung):
    instance = make_instance()
    for status in SessionStatus.values:
        stored = session_state.observe(instance, Observed(status))
        assert stored.connected is (status == SessionStatus.CONNECTED)
        instance.refresh_from_db()
        assert instance.status == status
        assert instance.connected is (status == SessionStatus.CONNECTED)


def test_a_send_that_finds_the_session_gone_leaves_no_connected_status_behind(make_instance, rung):
    instance = make_instance(status=SessionStatus.CONNECTED, connected=True)
    session_state.observe(instance, Observed(SessionStatus.CLOSED, reason="send"))
    instance.refresh_from_db()
    assert (instance.status, instance.connected) == (SessionStatus.CLOSED, False)
    assert instance.connected_since is None


def test_a_qr_is_kept_only_while_waiting_for_a_scan(make_instance, rung):
    instance = make_instance()
    session_state.observe(instance, Observed(SessionStatus.QRCODE, qr_code="data:image/png;a"))
    produced = instance.code_produced_at
    assert instance.qr_code == "data:image/png;a" and produced is not None
    session_state.observe(instance, Observed(SessionStatus.QRCODE))  # a status poll, no image
    assert instance.qr_code == "data:image/png;a" and instance.code_produced_at == produced
    session_state.observe(instance, Observed(SessionStatus.CONNECTED))
    instance.refresh_from_db()
    assert instance.qr_code == "" and instance.pairing_code == ""


def test_each_real_change_is_announced_once_and_a_repeat_not_at_all(make_instance, changes, rung):
    instance = make_instance()
    session_state.observe(instance, Observed(SessionStatus.CONNECTED))
    session_state.observe(instance, Observed(SessionStatus.CONNECTED))
    session_state.observe(instance, Observed(SessionStatus.CLOSED, reason="logout"))
    assert [(c.old_status, c.new_status, c.reason) for c in changes] == [
        ("CLOSED", "CONNECTED", ""),
        ("CONNECTED", "CLOSED", "logout"),
    ]
    # Connecting rings the dispatcher: messages may be waiting.
    assert rung.args_of(doorbell.DISPATCH) == [instance.pk]


def test_an_unreachable_gateway_is_marked_with_its_reason_and_first_time(make_instance, rung):
    instance = make_instance(status=SessionStatus.CONNECTED, connected=True)
    session_state.gateway_failed(instance, "refused", "the gateway refused the connection")
    first = instance.unreachable_since
    assert instance.status == SessionStatus.UNKNOWN and instance.connected is False
    assert instance.gateway_error == "refused" and first is not None
    session_state.gateway_failed(instance, "connect_timeout", "timed out connecting")
    instance.refresh_from_db()
    assert instance.gateway_error == "connect_timeout"
    assert instance.unreachable_since == first  # since when it has been out, not the last try
    session_state.observe(instance, Observed(SessionStatus.CONNECTED))
    instance.refresh_from_db()
    assert instance.gateway_error == "" and instance.unreachable_since is None


def test_connecting_clears_the_needs_scan_flag_and_the_reconnect_backoff(make_instance, rung):
    instance = make_instance(needs_scan=True, reconnect_attempts=3, last_error="needs a scan")
    session_state.observe(instance, Observed(SessionStatus.CONNECTED))
    instance.refresh_from_db()
    assert instance.needs_scan is False and instance.reconnect_attempts == 0
    assert instance.last_error == "" and instance.connected_since is not None
