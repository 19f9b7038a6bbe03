"""One instance's settings can never stop the machine: every settable number is bounded in the
form, the admin and the database, and one instance's failure never stops the others."""

from __future__ import annotations

import logging

import pytest
from django.db import IntegrityError, transaction

from tests.dashboard.test_views import settings_data
from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api
from whatsapp.forms import InstanceSettingsForm
from whatsapp.models import Instance, OutboundMessage
from whatsapp.services import dispatch, pacing, sweeps
from whatsapp.tasks import housekeeping

pytestmark = pytest.mark.django_db

OUT_OF_BOUNDS = [
    ("min_gap_seconds", "1e308"),
    ("max_gap_seconds", "1e308"),
    ("max_gap_seconds", "3601"),
    ("min_gap_seconds", "-1"),
    ("cap_per_minute", "1001"),
    ("cap_per_hour", "60001"),
    ("cap_per_day", "9" * 30),
    ("min_gap_seconds", "nan"),
    ("max_gap_seconds", "inf"),
]


@pytest.fixture
def instance(make_instance):
    return make_instance("main")


@pytest.mark.parametrize(("field", "value"), OUT_OF_BOUNDS)
def test_the_settings_form_refuses_numbers_out_of_bounds(instance, field, value):
    data = settings_data(**{field: value})
    if field == "min_gap_seconds" and value == "1e308":
        data["max_gap_seconds"] = "1e308"
    form = InstanceSettingsForm(data, instance=instance)
    assert not form.is_valid()
    assert field in form.errors, form.errors


@pytest.mark.parametrize(("field", "value"), OUT_OF_BOUNDS[:4])
def test_the_admin_refuses_them_too(admin_client, instance, field, value):
    data = {
        **settings_data(**{field: value}),
        "name": instance.name,
        "slug": instance.slug,
        "session_name": instance.session_name,
    }
    response = admin_client.post(f"/admin/whatsapp/instance/{instance.pk}/change/", data)
    assert response.status_code == 200  # the form again, with errors; not a redirect
    assert field in response.context["adminform"].form.errors
    instance.refresh_from_db()
    assert instance.min_gap_seconds == 3.0 and instance.cap_per_day == 1000


@pytest.mark.parametrize(
    "values",
    [
        {"min_gap_seconds": 1e308, "max_gap_seconds": 1e308},
        {"max_gap_seconds": 1.0},  # below the minimum gap of 3
        {"cap_per_minute": 10**6},
        {"min_gap_seconds": float("nan")},
    ],
)
def test_the_database_refuses_them_whatever_writes_them(instance, values):
    with pytest.raises(IntegrityError), transaction.atomic():
        Instance.objects.filter(pk=instance.pk).update(**values)


def test_pacing_survives_a_row_read_before_the_bounds_existed(instance):
    instance.min_gap_seconds, instance.max_gap_seconds = 1e308, float("inf")
    assert 0 <= pacing.next_gap(instance) <= 3600


def test_one_instance_failing_to_dispatch_never_stops_the_others(
    make_instance, sim, rung, monkeypatch, caplog
):
    broken = make_instance("broken", default=False, **UNPACED)
    healthy = make_instance("healthy", **UNPACED)
    for item in (broken, healthy):
        connect(sim, item)
        api.send_text(phone(1), "hi", instance=item.slug)
    real = dispatch.dispatch_instance

    def dispatch_instance(instance_id, *args, **kwargs):
        if instance_id == broken.pk:
            raise OverflowError("date value out of range")
        return real(instance_id, *args, **kwargs)

    monkeypatch.setattr(dispatch, "dispatch_instance", dispatch_instance)
    ids = sorted([broken.pk, healthy.pk])
    monkeypatch.setattr(dispatch, "instances_with_work", lambda: ids)
    with caplog.at_level(logging.ERROR):
        assert housekeeping.dispatch_all() == 1
    assert OutboundMessage.objects.get(instance=healthy).status == "dispatched"
    assert f"dispatch of instance {broken.pk} failed" in caplog.text


def test_one_failing_sweep_never_stops_the_others(rung, monkeypatch, caplog):
    ran = []
    monkeypatch.setattr(sweeps, "_sweepers", {})
    sweeps.register("first", lambda now: 1 / 0)
    sweeps.register("second", lambda now: ran.append(now) or 2)
    with caplog.at_level(logging.ERROR):
        results = sweeps.sweep_all()
    assert results == {"first": "failed", "second": 2} and ran
    assert "sweep first failed" in caplog.text
