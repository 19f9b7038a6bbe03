"""The effective Celery configuration: the reliability settings the design depends on."""

from __future__ import annotations

from whatsapp.queues import QUEUE_NAMES, TIME_LIMITS, queue_for
from worker import app


def test_only_json_crosses_the_broker():
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"


def test_a_dying_worker_leaves_its_message_for_redelivery():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_time_limits_are_set_per_queue():
    assert TIME_LIMITS["sessions"] == (110, 130)
    assert TIME_LIMITS["messages"] == (50, 60)
    soft, hard = TIME_LIMITS["default"]
    assert soft < hard <= 60


def test_every_task_gets_the_limits_of_its_queue():
    annotations = app.conf.task_annotations
    for task_name, queue in [
        ("whatsapp.sessions.run_operation", "sessions"),
        ("whatsapp.messages.send", "messages"),
        ("whatsapp.messages.dispatch", "default"),
        ("worker.ping", "default"),
    ]:
        task = type("T", (), {"name": task_name})()
        limits = {}
        for annotation in annotations:
            limits.update(annotation.annotate(task))
        assert limits == {
            "soft_time_limit": TIME_LIMITS[queue][0],
            "time_limit": TIME_LIMITS[queue][1],
        }


def test_visibility_timeout_exceeds_every_time_limit_and_countdown():
    from django.conf import settings

    visibility = app.conf.broker_transport_options["visibility_timeout"]
    longest_limit = max(hard for _soft, hard in TIME_LIMITS.values())
    assert visibility > longest_limit
    assert visibility > settings.CELERY_MAX_COUNTDOWN


def test_a_dead_redis_cannot_hang_a_publish():
    options = app.conf.broker_transport_options
    assert 0 < options["socket_connect_timeout"] <= 5
    assert 0 < options["socket_timeout"] <= 10
    assert app.conf.task_publish_retry is True
    policy = app.conf.task_publish_retry_policy
    worst_case = sum(
        min(policy["interval_start"] + i * policy["interval_step"], policy["interval_max"])
        for i in range(policy["max_retries"])
    )
    assert policy["max_retries"] <= 3 and worst_case <= 2


def test_results_are_ignored_unless_a_task_opts_in_and_events_feed_flower():
    assert app.conf.task_ignore_result is True
    assert app.conf.task_track_started is True
    assert app.conf.worker_send_task_events is True
    assert app.conf.task_send_sent_event is True


def test_five_queues_routed_by_task_name():
    assert (
        {q.name for q in app.conf.task_queues}
        == set(QUEUE_NAMES)
        == {"sessions", "messages", "default", "housekeeping", "webhooks"}
    )
    assert app.conf.task_default_queue == "default"
    assert queue_for("whatsapp.sessions.run_operation") == "sessions"
    assert queue_for("whatsapp.messages.send") == "messages"
    assert queue_for("anything.else") == "default"
    assert queue_for("whatsapp.messages.dispatch") == "default"  # a doorbell per enqueue
    router = app.amqp.router
    assert router.route({}, "whatsapp.messages.send")["queue"].name == "messages"
    assert router.route({}, "whatsapp.sessions.run_operation")["queue"].name == "sessions"


def test_celery_logs_through_django_logging():
    assert app.conf.worker_hijack_root_logger is False


def test_beat_uses_the_database_scheduler():
    assert app.conf.beat_scheduler == "whatsapp.beat_scheduler:DatabaseScheduler"


HOUSEKEEPING_TASKS = [
    "whatsapp.housekeeping.sweep",
    "whatsapp.housekeeping.dispatch_all",
    "whatsapp.housekeeping.prune",
    "whatsapp.health.record_all",
    "whatsapp.health.record_instance",
    "whatsapp.health.prune",
]


def test_housekeeping_has_its_own_queue_that_traffic_cannot_fill():
    router = app.amqp.router
    for task_name in HOUSEKEEPING_TASKS:
        assert queue_for(task_name) == "housekeeping", task_name
        assert router.route({}, task_name)["queue"].name == "housekeeping"
    # Per-message traffic stays off it.
    for task_name in [
        "whatsapp.messages.dispatch",
        "whatsapp.events.apply",
        "whatsapp.events.retry",
    ]:
        assert queue_for(task_name) == "default"
    soft, hard = TIME_LIMITS["housekeeping"]
    assert soft < hard <= 60


def test_every_beat_entry_runs_on_the_housekeeping_queue_and_names_a_real_task():
    import whatsapp.tasks  # noqa: F401 - registers the tasks, as a worker's autodiscovery does
    from whatsapp.beat import entries

    tasks = set(app.tasks)
    for entry in entries():
        assert queue_for(entry.task) == "housekeeping", entry.task
        assert entry.task in tasks, entry.task
        assert 0 < entry.expires_seconds <= entry.every_seconds


def test_workers_keep_running_tasks_and_reconnecting_when_the_broker_drops():
    assert app.conf.worker_cancel_long_running_tasks_on_connection_loss is False
    assert app.conf.broker_connection_retry is True
    assert app.conf.broker_connection_max_retries is None
