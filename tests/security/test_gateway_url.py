"""No secret leaves by a changed URL: who may move an instance's gateway, and what it costs."""

from __future__ import annotations

import http.server
import threading

import pytest
from django.utils import translation

from tests.security.conftest import settings_form
from whatsapp.forms import InstanceSettingsForm
from whatsapp.gateway import ConfigurationError, GatewayClient, Rejected, Timeouts
from whatsapp.models import AuditEntry, Instance

pytestmark = pytest.mark.django_db
PAGE = "/system/whatsapp/instances/main/"


def test_an_operator_cannot_move_the_gateway_or_rename_the_session(
    operator_client, gateway_instance
):
    for change in (
        {"gateway_url": "http://attacker.example:8080"},
        {"session_name": "other"},
    ):
        response = operator_client.post(
            PAGE, settings_form(gateway_instance, **change), HTTP_ACCEPT_LANGUAGE="en"
        )
        assert response.status_code == 400
        field = next(iter(change))
        assert "allowed to change instances" in str(response.context["form"].errors[field])
    gateway_instance.refresh_from_db()
    assert gateway_instance.gateway_url == "http://127.0.0.1:9"
    assert gateway_instance.session_name == "main"
    assert gateway_instance.secret_key == "stored-secret-key"


def test_an_operator_still_saves_pacing_without_touching_the_gateway(
    operator_client, gateway_instance
):
    response = operator_client.post(PAGE, settings_form(gateway_instance, cap_per_minute="3"))
    assert response.status_code == 302
    gateway_instance.refresh_from_db()
    assert gateway_instance.cap_per_minute == 3
    assert gateway_instance.secret_key == "stored-secret-key"


def test_with_the_admin_permission_a_new_url_needs_the_secret_again(client, gateway_instance):
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user("gerente", password="pw-123-secret", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["operate_instance", "view_instance", "change_instance"]
        )
    )
    client.force_login(user)
    moved = settings_form(gateway_instance, gateway_url="http://gateway:21465")
    refused = client.post(PAGE, moved, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert "enter the secret key again" in str(refused.context["form"].errors["secret_key"])
    saved = client.post(PAGE, {**moved, "secret_key": "the-new-gateways-secret"})
    assert saved.status_code == 302
    gateway_instance.refresh_from_db()
    assert gateway_instance.gateway_url == "http://gateway:21465"
    assert gateway_instance.secret_key == "the-new-gateways-secret"
    entry = AuditEntry.objects.get(action="instance.change")
    assert entry.changes["secret_key"] == "changed"
    assert entry.changes["gateway_url"] == ["http://127.0.0.1:9", "http://gateway:21465"]
    assert "the-new-gateways-secret" not in str(entry.changes)


def test_a_saved_url_change_without_a_new_secret_clears_the_stored_one(gateway_instance):
    row = Instance.objects.get(pk=gateway_instance.pk)
    row.gateway_url = "http://elsewhere:21465"
    row.save()
    row.refresh_from_db()
    assert not row.has_secret_key
    renamed = Instance.objects.get(pk=gateway_instance.pk)
    renamed.secret_key = "again"
    renamed.session_name = "renamed"
    renamed.save()
    assert Instance.objects.get(pk=gateway_instance.pk).secret_key == "again"


@pytest.mark.parametrize(
    "url", ["http://user:pass@gateway:21465", "http://user@gateway:21465", "https://:x@gw"]
)
def test_urls_with_user_info_are_refused(gateway_instance, url):
    form = InstanceSettingsForm(
        settings_form(gateway_instance, gateway_url=url, secret_key="s"), instance=gateway_instance
    )
    with translation.override("en"):
        assert not form.is_valid()
        assert "user name and password" in str(form.errors["gateway_url"])


def test_the_client_refuses_user_info_instead_of_sending_basic_auth():
    client = GatewayClient("http://user:pass@127.0.0.1:9", "main", "secret")
    with pytest.raises(ConfigurationError, match="user name or password"):
        client.status()


class ProxyThatAnswers(http.server.BaseHTTPRequestHandler):
    """Stands for a host that is not the gateway: whatever it is asked, it answers with words."""

    seen: list[str] = []

    def do_GET(self) -> None:
        ProxyThatAnswers.seen.append(self.headers.get("Authorization", ""))
        body = b'{"message": "internal admin panel says hello"}'
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_no_other_host_answers_for_the_gateway_not_even_a_proxy_from_the_environment(
    monkeypatch,
):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ProxyThatAnswers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        proxy = f"http://127.0.0.1:{server.server_address[1]}"
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("http_proxy", proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        client = GatewayClient(
            "http://gateway.invalid:21465", "main", "secret", timeouts=Timeouts(1, 1, 1)
        )
        with pytest.raises(Exception) as caught:
            client.status()
        assert not isinstance(caught.value, Rejected)
        assert "internal admin panel" not in str(caught.value)
        assert ProxyThatAnswers.seen == []  # the token never went there
    finally:
        server.shutdown()
