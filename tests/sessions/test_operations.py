"""Session operations run directly (no Celery), against the simulator over real HTTP."""

from __future__ import annotations

import socket

import pytest
from django.db import IntegrityError, transaction

from whatsapp.models import SessionOperation
from whatsapp.models.operation import OperationKind, OperationStatus
from whatsapp.services import operations
from whatsapp.services.gateway import client_for, webhook_url

pytestmark = pytest.mark.django_db


def run(instance, kind, phone=""):
    operation, created = operations.request_operation(instance, kind, phone=phone)
    assert created
    operations.run(operation.pk)
    operation.refresh_from_db()
    return operation


def english_error(operation) -> str:
    """The error as an English reader sees it (rows keep a code; the text follows the reader)."""
    from django.utils import translation

    from whatsapp.views.serialize import operation_json

    with translation.override("en"):
        return operation_json(operation)["error"]


def connect(sim, instance):
    client_for(instance).start_session(webhook=webhook_url(instance))
    sim.wait_for_status(instance.session_name, "QRCODE")
    sim.scan(instance.session_name)
    sim.wait_for_status(instance.session_name, "CONNECTED")


def test_a_second_request_while_one_is_active_returns_the_first(make_instance):
    instance = make_instance()
    first, created = operations.request_operation(instance, OperationKind.START)
    again, created_again = operations.request_operation(instance, OperationKind.START)
    assert created and not created_again
    assert again.pk == first.pk
    assert SessionOperation.objects.count() == 1


def test_the_database_refuses_two_active_operations_of_one_kind(make_instance):
    instance = make_instance()
    SessionOperation.objects.create(instance=instance, kind="start")
    with pytest.raises(IntegrityError), transaction.atomic():
        SessionOperation.objects.create(instance=instance, kind="start", status="running")
    SessionOperation.objects.create(instance=instance, kind="close")  # another kind is fine


def test_start_on_a_fresh_session_ends_with_a_qr_data_url(sim, make_instance):
    instance = make_instance()
    operation = run(instance, OperationKind.START)
    assert operation.status == OperationStatus.SUCCEEDED, operation.error
    assert operation.result["state"] == "QRCODE"
    assert operation.result["qrcode"].startswith("data:image/png;base64,")
    assert sim.session(instance.session_name)["webhook"] == webhook_url(instance)
    instance.refresh_from_db()
    assert instance.status == "QRCODE" and instance.qr_code == operation.result["qrcode"]


def test_start_on_a_connected_session_calls_nothing_and_reports_connected(sim, make_instance):
    instance = make_instance()
    connect(sim, instance)
    before = sim.calls(instance.session_name).get("start-session", 0)
    operation = run(instance, OperationKind.START)
    assert operation.status == OperationStatus.SUCCEEDED
    assert operation.result["connected"] is True
    assert sim.calls(instance.session_name).get("start-session", 0) == before


def test_a_session_stuck_initializing_fails_with_an_explanation(sim, make_instance, whatsapp_conf):
    whatsapp_conf.START_TIMEOUT = 1
    sim.set_fault("start-session", stay_initializing=True)
    instance = make_instance()
    operation = run(instance, OperationKind.START)
    assert operation.status == OperationStatus.FAILED
    assert operation.error_code == "stuck_initializing"
    assert "WhatsApp Web" in english_error(operation)


def test_close_on_a_never_started_session_does_not_call_the_gateway(sim, make_instance):
    instance = make_instance()
    operation = run(instance, OperationKind.CLOSE)
    assert operation.status == OperationStatus.FAILED
    assert operation.error_code == "not_started"
    assert "close-session" not in sim.calls(instance.session_name)


def test_close_while_waiting_for_a_scan_is_refused_and_leaks_no_browser(sim, make_instance):
    instance = make_instance()
    client_for(instance).start_session(webhook=webhook_url(instance))
    sim.wait_for_status(instance.session_name, "QRCODE")
    operation = run(instance, OperationKind.CLOSE)
    assert operation.error_code == "close_while_starting"
    assert "browser" in english_error(operation)
    assert "close-session" not in sim.calls(instance.session_name)
    assert sim.session(instance.session_name)["leaked"] is False


def test_close_while_initializing_is_refused_too(sim, make_instance):
    sim.set_fault("start-session", stay_initializing=True)
    instance = make_instance()
    client_for(instance).start_session()
    sim.wait_for_status(instance.session_name, "INITIALIZING")
    operation = run(instance, OperationKind.CLOSE)
    assert operation.error_code == "close_while_starting"
    assert sim.session(instance.session_name)["leaked"] is False


def test_close_and_logout_on_a_connected_session_succeed(sim, make_instance):
    instance = make_instance()
    connect(sim, instance)
    closed = run(instance, OperationKind.CLOSE)
    assert closed.status == OperationStatus.SUCCEEDED, closed.error
    assert closed.result["state"] == "CLOSED"
    # A closed session keeps its login: the next start reconnects without a QR (contract §5.6).
    client_for(instance).start_session(webhook=webhook_url(instance))
    sim.wait_for_status(instance.session_name, "CONNECTED")
    logged_out = run(instance, OperationKind.LOGOUT)
    assert logged_out.status == OperationStatus.SUCCEEDED, logged_out.error
    instance.refresh_from_db()
    assert instance.connected is False and instance.needs_scan is True and instance.phone == ""


def test_logout_on_a_session_that_is_not_connected_says_so(sim, make_instance):
    instance = make_instance()
    operation = run(instance, OperationKind.LOGOUT)
    assert operation.error_code == "not_connected"
    assert "logout-session" not in sim.calls(instance.session_name)


def test_refresh_records_phone_and_device_of_a_connected_session(sim, make_instance):
    instance = make_instance()
    connect(sim, instance)
    operation = run(instance, OperationKind.REFRESH)
    assert operation.status == OperationStatus.SUCCEEDED
    instance.refresh_from_db()
    assert instance.connected and instance.phone and instance.device.get("platform")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_gateway_is_a_clear_failure_not_a_crash(make_instance):
    instance = make_instance(gateway_url=f"http://127.0.0.1:{free_port()}")
    operation = run(instance, OperationKind.START)
    assert operation.status == OperationStatus.FAILED
    assert operation.error_code == "gateway_unreachable"
    assert "cannot be reached" in english_error(operation)


def test_a_wrong_secret_is_reported_as_a_credentials_problem(make_instance):
    instance = make_instance()
    instance.secret_key = "not-the-gateway-secret"
    instance.save()
    operation = run(instance, OperationKind.START)
    assert operation.error_code == "gateway_config"
    assert "not-the-gateway-secret" not in operation.error + english_error(operation)


def test_a_gateway_500_on_start_keeps_the_servers_message(sim, make_instance):
    sim.set_fault("status-session", error_rate=1.0, error_status=500)
    instance = make_instance()
    operation = run(instance, OperationKind.START)
    assert operation.error_code == "gateway_error"
    assert "HTTP 500" in english_error(operation)


def test_pending_operations_whose_doorbell_was_lost_are_rung_again(make_instance, rung):
    from datetime import timedelta

    from django.utils import timezone

    from whatsapp import doorbell

    instance = make_instance()
    old = SessionOperation.objects.create(instance=instance, kind="start")
    SessionOperation.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(minutes=1)
    )
    stuck = SessionOperation.objects.create(instance=instance, kind="close", status="running")
    SessionOperation.objects.filter(pk=stuck.pk).update(
        started_at=timezone.now() - timedelta(minutes=5)
    )
    assert operations.sweep() == {"failed": 1, "requeued": 1}
    assert rung.args_of(doorbell.RUN_OPERATION) == [old.pk]
    stuck.refresh_from_db()
    assert stuck.status == "failed" and stuck.error_code == "worker_lost"


@pytest.mark.parametrize(
    ("language", "says"),
    [
        ("en", "restart the gateway's container"),
        ("pt-br", "reinicie o contêiner do gateway"),
    ],
)
def test_a_stuck_start_says_that_only_a_container_restart_clears_a_leaked_browser(language, says):
    from django.utils import translation

    from whatsapp.services.errors import render

    with translation.override(language):
        text = render("stuck_initializing", {"seconds": 75})
    assert says in text and "75" in text
    assert "restarting the gateway clears it" not in text
