"""Acceptance: the app installed from its wheel into a new project, configured only as
docs/embedding.md says, on PostgreSQL, with a real worker, sending to the simulator."""

from __future__ import annotations

import os
import re
from pathlib import Path

import dj_database_url
import psycopg
import pytest
import redis
import requests

from tests.embedding.host import (
    Process,
    apply_docs,
    build_wheel,
    free_port,
    make_virtualenv,
    run,
    wheelhouse,
)
from tests.live import wait_until
from whatsapp.queues import QUEUE_NAMES
from whatsapp.testing import simulator

pytestmark = pytest.mark.live
SECRET = "host-gateway-secret"
SESSION = "mysite"


def host_database() -> dict[str, str]:
    base = dj_database_url.parse(os.environ["DATABASE_URL"])
    name = f"{base['NAME']}_host"
    server = dict(base, NAME="postgres")
    with psycopg.connect(
        dbname="postgres",
        user=str(server["USER"]),
        password=str(server["PASSWORD"]),
        host=str(server["HOST"]),
        port=str(server["PORT"] or 5432),
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return {
        "POSTGRES_DB": name,
        "POSTGRES_USER": str(base["USER"] or "postgres"),
        "POSTGRES_PASSWORD": str(base["PASSWORD"] or ""),
        "POSTGRES_HOST": str(base["HOST"] or "127.0.0.1"),
        "POSTGRES_PORT": str(base["PORT"] or 5432),
    }


def host_broker() -> str:
    # The same Redis as the suite, on a database of its own: the host's worker must not take
    # the suite's tasks, nor the suite's workers the host's.
    base = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
    url = os.environ.get("TEST_HOST_BROKER_URL") or re.sub(r"/\d+$", "/12", base)
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """The project, migrated, its default instance bootstrapped, a key and an admin made."""
    work = tmp_path_factory.mktemp("host")
    wheel = build_wheel(work / "dist")
    python = make_virtualenv(work / "venv", wheel, wheelhouse(wheel))
    project = work / "site"
    project.mkdir()
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    run([str(python.parent / "django-admin"), "startproject", "mysite", str(project)], env=clean)
    assert set(apply_docs(project)) == {
        "mysite/settings.py", "mysite/urls.py", "mysite/celery.py", "mysite/__init__.py"
    }  # fmt: skip
    with simulator(SECRET, init_delay=0.2) as gateway:
        port = free_port()
        env = {
            **clean,
            "PYTHONUNBUFFERED": "1",
            "WPPCONNECT_URL": gateway.url,
            "WPPCONNECT_SECRET_KEY": SECRET,
            "WPPCONNECT_SESSION": SESSION,
            "WHATSAPP_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "WHATSAPP_ENCRYPTION_KEY": "host-encryption-key",
            "CELERY_BROKER_URL": host_broker(),
            "DJANGO_SUPERUSER_PASSWORD": "host-admin-pw-1",
            **host_database(),
        }
        manage = [str(python), "manage.py"]
        run([*manage, "migrate", "--no-input"], cwd=project, env=env)
        run([*manage, "whatsapp_bootstrap"], cwd=project, env=env)
        run([*manage, "createsuperuser", "--no-input", "--username", "admin",
             "--email", "admin@example.com"], cwd=project, env=env)  # fmt: skip
        key = run(
            [
                *manage,
                "whatsapp_apikey",
                "create",
                "host",
                "--scopes",
                "send,read,read-all,sessions",
            ],
            cwd=project,
            env=env,
        )
        web = Process(
            [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
            project,
            env,
            work / "web.log",
        )
        worker = Process(
            [str(python), "-m", "celery", "-A", "mysite", "worker", "-Q",
             ",".join(QUEUE_NAMES), "-c", "3", "--without-gossip", "--without-mingle",
             "-n", "host@%h"],
            project, env, work / "worker.log",
        )  # fmt: skip
        # As docs/embedding.md says: beat's sweep re-rings a doorbell a busy Redis dropped.
        beat = Process(
            [str(python), "-m", "celery", "-A", "mysite", "beat", "--loglevel", "INFO"],
            project, env, work / "beat.log",
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            assert wait_until(lambda: _up(base), timeout=60), web.output()
            yield {
                "base": base,
                "gateway": gateway,
                "key": key.stdout.strip().splitlines()[-1],
                "project": project,
                "python": python,
                "env": env,
                "web": web,
                "worker": worker,
                "beat": beat,
            }
        finally:
            beat.stop()
            worker.stop()
            web.stop()


def _up(base: str) -> bool:
    try:
        requests.get(f"{base}/admin/login/", timeout=2)
    except requests.RequestException:
        return False
    return True


def _api(host, method: str, path: str, **kwargs):
    headers = {"Authorization": f"Bearer {host['key']}"}
    return requests.request(method, f"{host['base']}/whatsapp/api/v1{path}", headers=headers,
                            timeout=10, **kwargs)  # fmt: skip


def _poll(host, path: str, done, timeout: float = 60):
    seen = {}

    def check() -> bool:
        seen["body"] = _api(host, "GET", path).json()
        return bool(done(seen["body"]))

    if not wait_until(check, timeout=timeout, interval=0.3):
        pytest.fail(
            f"{path} never got there: {seen.get('body')}\n--- worker\n"
            f"{host['worker'].output()[-6000:]}\n--- beat\n{host['beat'].output()[-2000:]}"
        )
    return seen["body"]


def test_the_wheel_holds_the_app_alone_with_its_assets(tmp_path):
    import zipfile

    names = zipfile.ZipFile(build_wheel(tmp_path)).namelist()
    assert {name.split("/")[0] for name in names} == {"whatsapp", "leguas_whatsapp-0.1.0.dist-info"}
    assert "whatsapp/locale/pt_BR/LC_MESSAGES/django.mo" in names
    assert "whatsapp/templates/whatsapp/base.html" in names
    assert "whatsapp/static/whatsapp/css/app.css" in names
    assert "whatsapp/migrations/0001_initial.py" in names
    assert not [n for n in names if n.startswith(("leguas/", "worker/", "tests/"))]


def test_no_module_of_the_app_imports_the_reference_host():
    root = Path(__file__).resolve().parents[2] / "whatsapp"
    pattern = re.compile(r"^\s*(from|import)\s+(leguas|worker)\b", re.M)
    offenders = [str(p) for p in root.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_a_host_project_connects_a_number_and_sends_through_the_worker(host):
    slug = _api(host, "GET", "/instances").json()["results"][0]["instance"]
    started = _api(host, "POST", f"/instances/{slug}/start")
    assert started.status_code == 202, started.text
    operation = started.json()["operation"]
    assert operation["url"] == f"/whatsapp/api/v1/operations/{operation['id']}"
    finished = _poll(host, f"/operations/{operation['id']}", lambda op: op["finished_at"])
    assert finished["status"] == "succeeded" and finished["result"]["qrcode"], finished
    host["gateway"].scan(SESSION)
    # Connected through the gateway's webhook, registered under the host's prefix.
    _poll(host, f"/instances/{slug}", lambda state: state["connected"])
    webhooks = [d["url"] for d in host["gateway"].webhook_deliveries()]
    assert webhooks and all("/whatsapp/whatsapp/webhooks/" in url for url in webhooks)

    code = (
        "from whatsapp import api; "
        "print(api.send_text('+55 21 98700-0001', 'hello from a host').id)"
    )
    sent = run(
        [str(host["python"]), "manage.py", "shell", "-c", code],
        cwd=host["project"],
        env=host["env"],
    )
    message_id = sent.stdout.strip().splitlines()[-1]
    # The simulator acknowledges at once: the message may be read before a poll sees it sent.
    reached = ("sent", "delivered", "read")
    message = _poll(host, f"/messages/{message_id}", lambda m: m["status"] in reached)
    assert message["to"] == "5521987000001"
    assert len(host["gateway"].ledger(message="hello from a host")) == 1


def test_the_dashboard_loads_under_the_hosts_prefix(host):
    session = requests.Session()
    login = f"{host['base']}/admin/login/"
    session.get(login, timeout=10)
    signed_in = session.post(
        login,
        data={"username": "admin", "password": "host-admin-pw-1",
              "csrfmiddlewaretoken": session.cookies["csrftoken"],
              "next": "/whatsapp/system/whatsapp/"},
        headers={"Referer": login},
        timeout=10,
    )  # fmt: skip
    assert signed_in.status_code == 200 and signed_in.url.endswith("/whatsapp/system/whatsapp/")
    page = signed_in.text
    assert "/whatsapp/system/whatsapp/instances/" in page  # the script's URLs, reversed
    stylesheet = re.search(r'href="([^"]+app\.css)"', page)
    assert stylesheet and session.get(host["base"] + stylesheet.group(1), timeout=10).ok
    messages = session.get(f"{host['base']}/whatsapp/system/whatsapp/messages/", timeout=10)
    assert messages.status_code == 200


def test_every_setting_of_the_app_is_documented_for_hosts():
    from whatsapp.conf import DEFAULTS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "embedding.md").read_text()
    assert [key for key in DEFAULTS if f"`{key}`" not in doc] == []
