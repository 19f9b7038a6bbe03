"""The health recorder, auto-reconnect, pruning and the beat schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from whatsapp.models import HealthSample, Instance, SessionOperation
from whatsapp.services import health
from whatsapp.services.gateway import client_for, webhook_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(rung):
    return rung


def connect(sim, instance):
    client_for(instance).start_session(webhook=webhook_url(instance))
    sim.wait_for_status(instance.session_name, "QRCODE")
    sim.scan(instance.session_name)
    sim.wait_for_status(instance.session_name, "CONNECTED")


def test_a_sample_records_status_connection_and_latency(sim, make_instance):
    instance = make_instance()
    connect(sim, instance)
    sample = health.record(instance.pk)
    assert sample.connected and sample.status == "CONNECTED"
    assert sample.latency_ms is not None and sample.error == ""
    assert sample.transition == "connected"


def next_period(instance) -> None:
    """As if a period had passed since the last sample was claimed."""
    Instance.objects.filter(pk=instance.pk).update(
        health_claimed_at=timezone.now() - timedelta(hours=1)
    )


def test_an_unlinked_phone_is_recorded_as_a_disconnect(sim, make_instance):
    instance = make_instance()
    connect(sim, instance)
    health.record(instance.pk)
    next_period(instance)
    sim.unlink(instance.session_name)
    sample = health.record(instance.pk)
    assert not sample.connected and sample.transition == "disconnected"
    instance.refresh_from_db()
    assert not instance.connected


def test_an_unreachable_gateway_is_a_sample_with_the_error(make_instance):
    instance = make_instance(gateway_url="http://127.0.0.1:9")
    sample = health.record(instance.pk)
    assert not sample.connected and sample.status == "UNKNOWN" and sample.error
    assert sample.latency_ms is None


def test_disabled_instances_are_not_sampled(make_instance):
    make_instance(enabled=False)
    assert health.instances_to_record() == []


def test_reconnect_attempts_back_off_and_stop_at_the_hourly_cap(sim, make_instance, no_broker):
    instance = make_instance()
    HealthSample.objects.create(
        instance=instance, at=timezone.now(), status="CONNECTED", connected=True
    )
    started = 0
    for _ in range(20):
        if health.maybe_reconnect(instance.pk, "CLOSED"):
            started += 1
            SessionOperation.objects.filter(status="pending").update(status="failed")
        # Jump past the backoff each time: only the hourly cap may stop it.
        Instance.objects.filter(pk=instance.pk).update(
            next_reconnect_at=timezone.now() - timedelta(seconds=1)
        )
    assert started == health.RECONNECT_CAP_PER_HOUR
    instance.refresh_from_db()
    assert instance.reconnect_attempts == health.RECONNECT_CAP_PER_HOUR


def test_reconnect_waits_for_its_backoff(make_instance, no_broker):
    instance = make_instance()
    HealthSample.objects.create(
        instance=instance, at=timezone.now(), status="CONNECTED", connected=True
    )
    assert health.maybe_reconnect(instance.pk, "CLOSED") is True
    assert health.maybe_reconnect(instance.pk, "CLOSED") is False
    instance.refresh_from_db()
    assert instance.next_reconnect_at > timezone.now() + timedelta(seconds=20)


def test_a_gateway_asking_for_a_qr_stops_reconnecting_with_needs_a_new_scan(make_instance):
    instance = make_instance()
    HealthSample.objects.create(
        instance=instance, at=timezone.now(), status="CONNECTED", connected=True
    )
    assert health.maybe_reconnect(instance.pk, "QRCODE") is False
    instance.refresh_from_db()
    assert instance.needs_scan and instance.last_error == "needs a new scan"
    assert health.maybe_reconnect(instance.pk, "CLOSED") is False


def test_a_never_linked_instance_is_not_restarted_in_a_loop(make_instance):
    instance = make_instance()
    assert health.maybe_reconnect(instance.pk, "CLOSED") is False


def test_old_samples_are_pruned_in_batches(make_instance, monkeypatch):
    monkeypatch.setattr(health, "PRUNE_BATCH", 7)
    instance = make_instance()
    old = timezone.now() - timedelta(days=31)
    HealthSample.objects.bulk_create(
        [
            HealthSample(instance=instance, at=old, status="CLOSED", connected=False)
            for _ in range(20)
        ]
        + [HealthSample(instance=instance, at=timezone.now(), status="CLOSED", connected=False)]
    )
    assert health.prune() == 20
    assert HealthSample.objects.count() == 1


def test_beat_entries_exist_after_migrate_and_keep_operator_edits():
    from django_celery_beat.models import PeriodicTask

    from whatsapp.beat import ensure_schedule

    record = PeriodicTask.objects.get(task="whatsapp.health.record_all")
    assert record.interval.every == 30 and record.expire_seconds
    record.enabled = False
    record.save()
    assert ensure_schedule() == []
    record.refresh_from_db()
    assert record.enabled is False


def test_two_beats_ticking_in_one_period_take_one_sample(sim, make_instance):
    instance = make_instance()
    first = health.record(instance.pk, period=30)
    second = health.record(instance.pk, period=30)  # the other beat, a moment later
    assert first is not None and second is None
    assert HealthSample.objects.filter(instance=instance).count() == 1


def test_samples_are_stamped_when_claimed_so_a_slow_answer_does_not_bunch_them(sim, make_instance):
    instance = make_instance()
    sim.set_fault("status-session", latency=1.2)  # longer than the claim's 0.6 s window
    first = health.record(instance.pk, period=1)
    sim.clear_faults()
    second = health.record(instance.pk, period=1)  # the next period's tick, answered at once
    assert first is not None and second is not None
    assert (second.at - first.at).total_seconds() >= health.CLAIM_SHARE


def test_one_beat_ticking_once_a_period_is_never_refused(sim, make_instance):
    instance = make_instance()
    start = timezone.now()
    taken = 0
    # Ticks 30 s apart with a few seconds of jitter either way, and a second beat 5 s behind.
    for tick, jitter in enumerate([0, 4, -4, 3, -3, 0]):
        for offset in (0, 5):
            at = start + timedelta(seconds=30 * tick + jitter + offset)
            taken += health.claim_sample(instance.pk, 30, at)
    assert taken == 6


def test_the_recorder_takes_its_period_from_the_beat_entry(db):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from whatsapp.beat import health_period

    entry = PeriodicTask.objects.get(task="whatsapp.health.record_all")
    assert health_period() == entry.interval.every
    entry.interval, _ = IntervalSchedule.objects.get_or_create(every=7, period="seconds")
    entry.save()
    assert health_period() == 7
