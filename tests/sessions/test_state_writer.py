"""Nothing but whatsapp.services.session_state writes an instance's session state."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from tests.dashboard.test_views import settings_data
from tests.messages.conftest import UNPACED, connect, phone
from tests.source_scan import product_modules, update_calls
from whatsapp import api
from whatsapp.forms import InstanceSettingsForm
from whatsapp.models import Instance
from whatsapp.models.instance import STATE_FIELDS, SessionStatus
from whatsapp.services import dispatch, send, session_state
from whatsapp.services.session_state import Observed

pytestmark = pytest.mark.django_db


def test_a_send_answered_not_connected_leaves_no_connected_status_without_a_connection(
    make_instance, sim, rung
):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    api.send_text(phone(1), "the phone went away")
    result = dispatch.dispatch_instance(instance.pk)
    sim.unlink(instance.session_name)  # the gateway now answers 404 "Disconnected" (§5.8 gate)
    outcome = send.send(result.claimed[0], result.token)
    assert outcome.status == "queued" and outcome.refresh_instance
    row = Instance.objects.get(pk=instance.pk)
    assert not row.connected
    assert row.status != SessionStatus.CONNECTED


def test_a_settings_form_saved_from_a_stale_copy_keeps_the_current_state(make_instance, rung):
    instance = make_instance("main")
    stale = Instance.objects.get(pk=instance.pk)  # the page was loaded while CLOSED
    session_state.observe(instance, Observed(SessionStatus.CONNECTED, phone="5521999999999"))
    same_gateway = {"gateway_url": instance.gateway_url, "session_name": instance.session_name}
    form = InstanceSettingsForm(settings_data(cap_per_minute="5", **same_gateway), instance=stale)
    assert form.is_valid(), form.errors
    form.save()
    row = Instance.objects.get(pk=instance.pk)
    assert row.cap_per_minute == 5
    assert (row.status, row.connected, row.phone) == ("CONNECTED", True, "5521999999999")


def test_the_admin_saving_a_stale_copy_keeps_the_current_state(admin_client, make_instance, rung):
    instance = make_instance("main", max_gap_seconds=8.0)
    session_state.observe(instance, Observed(SessionStatus.QRCODE, qr_code="data:image/png,AA"))
    Instance.objects.filter(pk=instance.pk).update(next_send_at=None)
    data = {**settings_data(), "name": "Renamed", "slug": instance.slug}
    data["session_name"] = instance.session_name
    data["gateway_url"] = instance.gateway_url
    response = admin_client.post(f"/admin/whatsapp/instance/{instance.pk}/change/", data)
    assert response.status_code == 302
    row = Instance.objects.get(pk=instance.pk)
    assert row.name == "Renamed" and row.status == "QRCODE" and row.qr_code


def test_the_database_refuses_a_connected_flag_that_disagrees_with_the_status(make_instance):
    instance = make_instance("main")
    with pytest.raises(IntegrityError), transaction.atomic():
        Instance.objects.filter(pk=instance.pk).update(status="CONNECTED", connected=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Instance.objects.filter(pk=instance.pk).update(status="CLOSED", connected=True)


def test_no_module_but_the_writer_updates_the_session_state():
    offenders = [
        f"{path}:{call.lineno} {sorted(names & STATE_FIELDS)}"
        for path, tree in product_modules(exclude=("whatsapp/services/session_state.py",))
        for call, root, names in update_calls(tree)
        if root in {"Instance", "instance", "row"} and names & STATE_FIELDS
    ]
    assert offenders == []
