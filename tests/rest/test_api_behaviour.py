"""What every route shares: bad bodies and query strings, unknown fields, language, the docs."""

from __future__ import annotations

import json
from unittest import mock

import pytest

from tests.messages.conftest import phone
from whatsapp import api
from whatsapp.models import OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(make_instance):
    return make_instance("main")


def post(client, raw, path="/api/v1/messages", **headers):
    data = raw if isinstance(raw, bytes) else json.dumps(raw)
    return client.post(path, data=data, content_type="application/json", **headers)


@pytest.mark.parametrize(
    "raw",
    [b"[" * 1000 + b"]" * 1000, b'{"a":' * 5000 + b"1" + b"}" * 5000, b"NaN", b'{"to": Infinity}',
     b"\xff\xfe", b""],
)  # fmt: skip
def test_bodies_that_are_not_json_objects_are_400_bad_request(api_client, instance, raw):
    response = post(api_client, raw)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request" and response.json()["message"]
    assert not OutboundMessage.objects.exists()


def test_an_unknown_body_field_is_refused_by_name(api_client, instance):
    response = post(api_client, {"to": phone(1), "text": "hi", "send_afer": "2030-01-01T00:00Z"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"send_afer": ["This field is not known."]}
    assert not OutboundMessage.objects.exists()


def test_a_body_is_validated_once_as_given_never_through_the_orm_getter(api_client, instance):
    """ninja validates a schema forbidding extra fields twice, the second time through a getter
    for ORM objects; a request's body is a dict, validated once."""
    with mock.patch("ninja.schema.DjangoGetter", side_effect=AssertionError("read as ORM")):
        response = post(api_client, {"to": phone(2), "text": "once"})
        refused = post(api_client, {"to": phone(2), "text": "x", "colour": "red"})
    assert response.status_code == 201, response.content
    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"colour"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=" + "9" * 5000, "limit"),
        ("limit=abc", "limit"),
        ("created_after=%00", "created_after"),
        ("created_after=2030-01-01T00:00:00%2B20:00", "created_after"),
        ("created_before=9999-12-31T23:59:59-12:00", "created_before"),
        ("cursor=%00", "cursor"),
        ("cursor=" + "A" * 3000, "cursor"),
        ("instance=%00", "instance"),
        ("colour=red", "colour"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_parameter(api_client, instance, query, field):
    response = api_client.get(f"/api/v1/messages?{query}")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_unknown_query_parameters_are_refused_on_every_route(api_client, instance):
    message = api.send_text(phone(1), "hi")
    assert api_client.get(f"/api/v1/messages/{message.id}?x=1").json()["errors"] == {
        "x": ["This query parameter is not known."]
    }
    assert api_client.get("/api/v1/instances?page=2").status_code == 400


def test_the_api_speaks_english_unless_asked_and_ignores_the_dashboards_cookie(
    api_client, instance, settings
):
    english = post(api_client, {"to": "abc", "text": "hi"})
    assert english.json()["errors"]["to"] == ["This is not a phone number."]
    assert english["Content-Language"] == "en" and "Accept-Language" in english["Vary"]
    api_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pt-br"
    assert post(api_client, {"to": "abc", "text": "hi"})["Content-Language"] == "en"
    portuguese = post(
        api_client, {"to": "abc", "text": "hi"}, HTTP_ACCEPT_LANGUAGE="pt-BR,en;q=0.5"
    )
    assert portuguese["Content-Language"] == "pt-br"
    assert portuguese.json()["errors"]["to"] == ["Isto não é um número de telefone."]
    shape = api_client.get("/api/v1/operations/abc", HTTP_ACCEPT_LANGUAGE="pt-br")
    assert shape.json()["errors"]["operation_id"] == ["Informe um número inteiro."]
    unauthenticated = api_client.get(
        "/api/v1/messages", HTTP_AUTHORIZATION="", HTTP_ACCEPT_LANGUAGE="pt-BR"
    )
    assert unauthenticated.status_code == 401 and "chave" in unauthenticated.json()["message"]


def test_answers_are_never_cached(api_client, instance):
    cache_control = api_client.get("/api/v1/messages")["Cache-Control"]
    assert "no-store" in cache_control and "private" in cache_control


@pytest.mark.parametrize(
    "metadata",
    [{"a": "\x00"}, {"\ud800": 1}, {"a": "x" * 5000}, "not an object", [1],
     {"a": float("nan")}, {"deep": json.loads("[" * 40 + "]" * 40)}],
)  # fmt: skip
def test_bad_metadata_is_refused_in_python(instance, metadata):
    with pytest.raises(api.MessageValidationError) as caught:
        api.send_text(phone(1), "hi", metadata=metadata)
    assert set(caught.value.errors) == {"metadata"}
    assert not OutboundMessage.objects.exists()


def test_metadata_is_stored_returned_and_part_of_the_idempotency_fingerprint(api_client, instance):
    body = {"to": phone(1), "text": "hi", "metadata": {"order": 42, "tags": ["vip", "ração 🐶"]}}
    created = post(api_client, body, HTTP_IDEMPOTENCY_KEY="m-1")
    assert created.status_code == 201 and created.json()["metadata"] == body["metadata"]
    got = api_client.get(f"/api/v1/messages/{created.json()['id']}").json()
    assert got["metadata"] == body["metadata"]
    other = post(api_client, {**body, "metadata": {"order": 43}}, HTTP_IDEMPOTENCY_KEY="m-1")
    assert other.status_code == 422
    surrogate = post(
        api_client, b'{"to": "%s", "text": "hi", "metadata": {"k": "\\ud800"}}' % phone(2).encode()
    )
    assert surrogate.status_code == 400 and "metadata" in surrogate.json()["errors"]


def test_the_document_lists_every_route_with_its_error_bodies(client):
    spec = client.get("/api/v1/openapi.json").json()
    routes = {
        "/api/v1/messages": {"get", "post"},
        "/api/v1/messages/batch": {"post"},
        "/api/v1/messages/{id}": {"get"},
        "/api/v1/messages/{id}/cancel": {"post"},
        "/api/v1/instances": {"get"},
        "/api/v1/instances/{slug}": {"get"},
        "/api/v1/instances/{slug}/qr.png": {"get"},
        "/api/v1/instances/{slug}/start": {"post"},
        "/api/v1/instances/{slug}/logout": {"post"},
        "/api/v1/instances/{slug}/close": {"post"},
        "/api/v1/instances/{slug}/refresh": {"post"},
        "/api/v1/operations/{operation_id}": {"get"},
        "/api/v1/media": {"post"},
        "/api/v1/media/{id}": {"get"},
        "/api/v1/inbound": {"get"},
        "/api/v1/inbound/{id}": {"get"},
        "/api/v1/webhooks": {"get", "post"},
        "/api/v1/webhooks/{id}": {"get", "delete"},
        "/api/v1/webhooks/{id}/test": {"post"},
    }
    assert {path: set(ops) for path, ops in spec["paths"].items()} == routes
    error = {"$ref": "#/components/schemas/Error"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert responses["401"]["content"]["application/json"]["schema"] == error, path
            assert any(code.startswith("2") for code in responses), (method, path)
    create = spec["paths"]["/api/v1/messages"]["post"]
    assert "Idempotent-Replayed" in create["responses"]["201"]["headers"]
    assert [p["name"] for p in create["parameters"]] == ["Idempotency-Key"]
    assert spec["components"]["securitySchemes"]
    items = spec["components"]["schemas"]["NewBatch"]["properties"]["messages"]["items"]
    assert items == {"$ref": "#/components/schemas/NewMessage"}


def test_the_docs_page_renders_markdown_without_scripts(client):
    html = client.get("/api/v1/docs").content.decode()
    assert "<code>Authorization: Bearer &lt;key&gt;</code>" in html  # Markdown, rendered
    assert "`" not in html.split("<pre>")[0]  # no raw backticks outside the schema dumps
    assert "<script" not in html and "cdn" not in html.lower()
    assert 'lang="en"' in html
    assert (
        'lang="pt-br"' in client.get("/api/v1/docs", HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    )


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"to": "+5521999990001", "text": "a\\u0000b"}', "text"),
        (b'{"to": "+5521999990001", "text": "a\\udbd4b"}', "text"),
        (b'{"to": "+5521999990001", "text": "hi", "instance": "ma\\u0000in"}', "instance"),
        (b'{"to": "+5521999990001", "text": "hi", "expires_at": ""}', "expires_at"),
    ],
)
def test_text_the_database_cannot_hold_is_a_400_naming_the_field(api_client, instance, raw, field):
    for path, body in (
        ("/api/v1/messages", raw),
        ("/api/v1/messages/batch", b'{"messages": [%s]}' % raw),
    ):
        response = post(api_client, body, path=path)
        assert response.status_code in (400, 207), response.content
        errors = (
            response.json()["errors"]
            if path.endswith("messages")
            else response.json()["results"][0]["errors"]
        )
        assert set(errors) == {field}
    assert not OutboundMessage.objects.exists()


def test_api_paths_are_matched_before_the_dashboards_patterns():
    # Django tries URL patterns in order: the API, the busiest part, must not wait behind the
    # dashboard's patterns, nor the reference host's, on every request.
    from leguas import urls as host
    from whatsapp import urls

    assert str(urls.urlpatterns[0].pattern) == "api/v1/"
    assert host.urlpatterns[0].urlconf_name is urls
