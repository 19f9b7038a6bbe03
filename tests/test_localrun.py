"""`make run`'s choices: which broker, which gateway, which processes."""

from __future__ import annotations

import socket

import pytest

from worker.localrun import build_plan, busy_ports, choose_broker, write_chosen


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_uses_the_redis_that_answers(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        plan = choose_broker({"CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0"}, tmp_path, None)
    assert plan.env["CELERY_BROKER_URL"] == f"redis://127.0.0.1:{port}/0"
    assert "redis" not in plan.processes


def test_it_starts_redis_server_under_var_when_none_answers(tmp_path):
    port = free_port()
    plan = choose_broker(
        {"CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0"}, tmp_path, "/usr/bin/redis-server"
    )
    assert plan.processes["redis"].startswith("/usr/bin/redis-server")
    assert f"--port {port}" in plan.processes["redis"]
    assert str(tmp_path / "redis") in plan.processes["redis"]


def test_it_falls_back_to_the_sqlite_broker_and_says_flower_needs_redis(tmp_path):
    port = free_port()
    plan = choose_broker({"CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0"}, tmp_path, None)
    assert plan.env["CELERY_BROKER_URL"].startswith("sqla+sqlite:///")
    assert plan.env["CACHE_URL"].startswith("file://")
    assert any("Flower" in note and "Redis" in note for note in plan.notes)


def test_it_runs_web_workers_beat_and_flower_with_sessions_on_their_own_worker(tmp_path):
    plan = build_plan({"LEGUAS_VAR_DIR": str(tmp_path), "WPPCONNECT_URL": "http://gw:21465"})
    assert {"web", "worker-sessions", "worker-main", "beat", "flower"} <= set(plan.processes)
    assert "-Q sessions " in plan.processes["worker-sessions"]
    assert "sessions" not in plan.processes["worker-main"].split("-Q ")[1].split()[0]
    assert "127.0.0.1:8000" in plan.processes["web"]
    assert "--port=5555" in plan.processes["flower"]
    assert "simulator" not in plan.processes


def test_without_a_gateway_url_it_runs_the_simulator(tmp_path):
    plan = build_plan({"LEGUAS_VAR_DIR": str(tmp_path)})
    assert "whatsapp.simulator" in plan.processes["simulator"]
    assert plan.env["WPPCONNECT_URL"] == "http://127.0.0.1:21465"


def test_the_local_run_keeps_to_its_own_redis_databases(tmp_path):
    plan = build_plan({"LEGUAS_VAR_DIR": str(tmp_path), "WPPCONNECT_URL": "http://gw:21465"})
    if plan.env["CELERY_BROKER_URL"].startswith("redis://"):
        assert plan.env["CELERY_BROKER_URL"].endswith("/2")
        assert plan.env["CACHE_URL"].endswith("/3")


def test_a_taken_port_is_named_with_its_variable(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        plan = build_plan({"LEGUAS_VAR_DIR": str(tmp_path), "FLOWER_PORT": str(port)})
        [sentence] = busy_ports(plan)
    assert f"Port {port} is already in use" in sentence
    assert f"FLOWER_PORT={port + 1}" in sentence
    assert busy_ports(plan) == []


def test_a_port_that_is_not_a_number_is_refused_with_its_name(tmp_path):
    with pytest.raises(SystemExit, match="WEB_PORT must be a port number"):
        build_plan({"LEGUAS_VAR_DIR": str(tmp_path), "WEB_PORT": "80a"})


def test_what_the_run_chose_is_written_for_manage_py(tmp_path):
    plan = build_plan({"LEGUAS_VAR_DIR": str(tmp_path)})
    path = write_chosen(plan)
    text = path.read_text()
    assert path == tmp_path / "local-run.env"
    assert "DEBUG=true" in text
    assert f"WPPCONNECT_URL={plan.env['WPPCONNECT_URL']}" in text
    assert f"CELERY_BROKER_URL={plan.env['CELERY_BROKER_URL']}" in text


def test_every_queue_has_a_local_worker_and_housekeeping_its_own(tmp_path):
    from whatsapp.queues import QUEUE_NAMES

    plan = build_plan({"LEGUAS_VAR_DIR": str(tmp_path), "WPPCONNECT_URL": "http://gw:21465"})
    consumed = {}
    for name, command in plan.processes.items():
        if " worker -Q " in command:
            consumed[name] = command.split("-Q ")[1].split()[0].split(",")
    assert {queue for queues in consumed.values() for queue in queues} == set(QUEUE_NAMES)
    assert consumed["worker-housekeeping"] == ["housekeeping"]
    assert consumed["worker-webhooks"] == ["webhooks"]
