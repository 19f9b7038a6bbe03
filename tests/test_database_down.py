"""The database down: 503 with Retry-After and a reason, JSON for programs, a page for people."""

from __future__ import annotations

import json

import pytest
from django.core.handlers.exception import convert_exception_to_response
from django.db import OperationalError, connection
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from tests.redis_process import free_port
from whatsapp.middleware import DatabaseUnavailableMiddleware, is_unavailable
from whatsapp.models import ApiKey

pytestmark = pytest.mark.django_db(transaction=True)

ERROR_BODY_KEYS = {"success", "message", "code", "errors"}


@pytest.fixture
def database_down():
    """Point the connection at a port where nothing listens, as when PostgreSQL is stopped."""

    def cut() -> None:
        connection.close()
        connection.settings_dict["PORT"] = str(free_port())
        connection.settings_dict["HOST"] = "127.0.0.1"

    saved = dict(connection.settings_dict)
    yield cut
    connection.close()
    connection.settings_dict.update(saved)


def assert_json_503(response) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"].isdigit()
    body = json.loads(response.content)
    assert set(body) == ERROR_BODY_KEYS
    assert body["success"] is False and body["code"] == "database_unavailable"
    assert body["errors"] == {} and body["message"]


def test_every_api_route_answers_a_json_503(database_down, make_instance):
    make_instance("main")
    _row, key = ApiKey.create("down")
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {key}")
    database_down()
    assert_json_503(client.get("/api/v1/messages"))
    assert_json_503(
        client.post("/api/v1/messages", {"to": "+5521999990001", "text": "hi"}, "application/json")
    )
    assert_json_503(client.get("/api/v1/messages/00000000-0000-0000-0000-000000000000"))


def test_the_webhook_receiver_answers_a_json_503(database_down, make_instance):
    instance = make_instance("main")
    url = reverse("whatsapp-webhook", args=[instance.slug, instance.webhook_secret])
    database_down()
    response = Client(raise_request_exception=False).post(
        url, '{"event": "status-find", "status": "inChat"}', "application/json"
    )
    assert_json_503(response)


def test_the_dashboards_json_endpoints_answer_a_json_503(database_down, operator, make_instance):
    make_instance("main")
    client = Client(raise_request_exception=False)
    client.force_login(operator)
    database_down()
    assert_json_503(client.get("/system/whatsapp/status/"))


@pytest.mark.parametrize(
    ("language", "words"), [("pt-br", "banco de dados"), ("en", "database cannot be reached")]
)
def test_a_person_gets_a_page_saying_the_database_cannot_be_reached(
    database_down, operator, make_instance, language, words
):
    make_instance("main")
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(operator)
    database_down()
    response = client.get("/system/whatsapp/", HTTP_ACCEPT="text/html")
    assert response.status_code == 503 and response["Retry-After"]
    assert response["Content-Type"].startswith("text/html")
    assert words in response.content.decode().lower()


def test_a_failure_inside_another_middleware_becomes_the_503_too(rf: RequestFactory):
    def inner(request):
        raise OperationalError("server closed the connection unexpectedly")

    middleware = DatabaseUnavailableMiddleware(convert_exception_to_response(inner))  # type: ignore[arg-type]
    with translation.override("en"):
        response = middleware(rf.get("/api/v1/messages"))
    assert_json_503(response)


def test_only_connection_failures_count_as_the_database_being_down():
    class Deadlock(Exception):
        sqlstate = "40P01"

    class Refused(Exception):
        sqlstate = None

    deadlock = OperationalError("deadlock detected")
    deadlock.__cause__ = Deadlock()
    refused = OperationalError("connection refused")
    refused.__cause__ = Refused()
    assert not is_unavailable(deadlock)
    assert is_unavailable(refused)
    assert not is_unavailable(ValueError("no"))
