"""docker-compose.yml agrees with the project: commands, queues, variables, the gateway's config."""

from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from whatsapp.queues import QUEUE_NAMES, TASK_ROUTES

BASE_DIR = Path(__file__).resolve().parent.parent
COMPOSE_TEXT = (BASE_DIR / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
APP_SERVICES = [
    "web",
    "worker-sessions",
    "worker-messages",
    "worker-default",
    "worker-housekeeping",
    "worker-webhooks",
    "beat",
    "flower",
]


def env_example_names() -> set[str]:
    names = set()
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


def command_words(service: str) -> list[str]:
    command = SERVICES[service]["command"]
    return command if isinstance(command, list) else shlex.split(command)


def celery_option(words: list[str], flag: str) -> str:
    return words[words.index(flag) + 1]


def test_every_service_of_the_stack_is_there():
    assert set(SERVICES) == {*APP_SERVICES, "redis", "postgres", "wppconnect"}


def test_app_services_share_one_definition_through_an_anchor():
    assert "x-app: &app" in COMPOSE_TEXT
    for service in APP_SERVICES:
        assert SERVICES[service]["image"] == "leguas-whatsapp:latest"
        assert SERVICES[service]["env_file"] == ".env"


@pytest.mark.parametrize("service", [s for s in APP_SERVICES if s != "web"])
def test_celery_commands_name_the_project_app_and_existing_queues(service):
    words = command_words(service)
    assert words[:3] == ["celery", "-A", "worker"]
    assert importlib.import_module(words[2]).app.main == "leguas"
    if words[3] == "worker":
        assert set(celery_option(words, "-Q").split(",")) <= set(QUEUE_NAMES)
    if words[3] == "beat":
        scheduler = celery_option(words, "-S")
        module, _, attr = scheduler.partition(":")
        assert hasattr(importlib.import_module(module), attr)


def test_web_runs_migrations_then_bootstrap_then_gunicorn_on_the_project_wsgi():
    words = command_words("web")
    script = words[-1]
    assert script.index("migrate") < script.index("whatsapp_bootstrap") < script.index("gunicorn")
    for command in re.findall(r"manage\.py (\w+)", script):
        assert command in get_commands(), command
    wsgi = re.search(r"gunicorn (\S+)", script).group(1)
    module, _, attr = wsgi.partition(":")
    assert hasattr(importlib.import_module(module), attr)


def test_every_queue_has_a_worker_and_every_route_a_queue():
    consumed = set()
    for service in APP_SERVICES:
        words = command_words(service)
        if "worker" in words and "-Q" in words:
            consumed |= set(celery_option(words, "-Q").split(","))
    assert consumed == set(QUEUE_NAMES)
    assert {route["queue"] for route in TASK_ROUTES.values()} <= consumed
    assert (
        command_words("worker-sessions")[command_words("worker-sessions").index("-Q") + 1]
        == "sessions"
    )


def test_every_variable_compose_uses_is_in_env_example():
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_TEXT))
    assert used, "the compose file should take its secrets from the environment"
    assert used <= env_example_names(), used - env_example_names()


def test_every_variable_the_settings_read_is_in_env_example():
    settings_text = (BASE_DIR / "leguas" / "settings.py").read_text()
    read = set(re.findall(r'env_\w+\(\s*"([A-Z0-9_]+)"', settings_text))
    assert read <= env_example_names(), read - env_example_names()


def test_the_gateway_takes_its_secret_from_the_environment_through_a_flag():
    gateway = SERVICES["wppconnect"]
    image, _, tag = gateway["image"].partition(":")
    assert image == "wppconnect/server-cli" and tag and tag != "latest"
    command = gateway["command"]
    assert command[command.index("--secretKey") + 1] == "${WPPCONNECT_SECRET_KEY}"
    assert "environment" not in gateway  # the image reads no environment variables (§9)
    assert "ports" not in gateway  # never published (§8.12, §8.14)


def test_the_gateway_config_file_sets_autoclose_and_keeps_chats_unread():
    gateway = SERVICES["wppconnect"]
    config_path = gateway["command"][gateway["command"].index("--config") + 1]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in gateway["volumes"]}
    config = json.loads((BASE_DIR / mounts[config_path]).read_text())
    assert config["createOptions"]["autoClose"] == 300000
    assert config["webhook"]["readMessage"] is False
    assert "/usr/src/wpp-server/tokens" in mounts and "/usr/src/wpp-server/userDataDir" in mounts


def test_redis_keeps_what_it_is_given():
    command = SERVICES["redis"]["command"]
    assert "--appendonly yes" in command and "--maxmemory-policy noeviction" in command
    assert SERVICES["postgres"]["volumes"][0].split(":")[0] in COMPOSE["volumes"]


def test_flower_is_published_on_loopback_only_and_refuses_to_start_without_credentials():
    flower = SERVICES["flower"]
    for port in flower.get("ports", []):
        published = str(port)
        # host_ip:host_port:container_port; without a host address Docker binds 0.0.0.0.
        assert published.startswith("127.0.0.1:"), published
    auth = flower["environment"]["FLOWER_BASIC_AUTH"]
    # ${VAR:?message}: compose stops with the message when the variable is unset or empty.
    assert re.fullmatch(r"\$\{FLOWER_BASIC_AUTH:\?[^}]+\}", auth), auth
    assert "--basic-auth" not in " ".join(command_words("flower"))  # not in `ps` either


def test_gunicorn_logs_through_the_redacting_logger():
    script = command_words("web")[-1]
    logger_class = re.search(r"--logger-class (\S+)", script).group(1)
    module, _, attr = logger_class.rpartition(".")
    assert hasattr(importlib.import_module(module), attr)


def test_the_web_healthcheck_asks_liveness_and_readiness():
    test = " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert "healthz" in test and "readyz" in test


def test_web_and_workers_share_one_metrics_folder():
    for service in APP_SERVICES:
        environment = {
            **COMPOSE["x-app"]["environment"],
            **SERVICES[service].get("environment", {}),
        }
        folder = environment["PROMETHEUS_MULTIPROC_DIR"]
        assert any(str(v).endswith(f":{folder}") for v in SERVICES[service]["volumes"]), service


def test_the_image_runs_as_a_non_root_user_in_a_multi_stage_build():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") >= 2
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}


@pytest.mark.parametrize("service", [s for s in APP_SERVICES if s != "web"] + ["web"])
def test_a_process_that_exits_is_started_again(service):
    # A worker that dies on a broker reconnect must come back by itself.
    assert SERVICES[service]["restart"] in {"unless-stopped", "always"}


def test_housekeeping_has_a_worker_of_its_own():
    words = command_words("worker-housekeeping")
    assert celery_option(words, "-Q") == "housekeeping"
    for service in APP_SERVICES:
        other = command_words(service)
        if service != "worker-housekeeping" and "-Q" in other:
            assert "housekeeping" not in celery_option(other, "-Q").split(","), service


def test_outgoing_webhooks_have_a_worker_of_their_own():
    words = command_words("worker-webhooks")
    assert celery_option(words, "-Q") == "webhooks"
    for service in APP_SERVICES:
        other = command_words(service)
        if service != "worker-webhooks" and "-Q" in other:
            assert "webhooks" not in celery_option(other, "-Q").split(","), service
