"""Login lockouts (django-axes), the API's rate limit, the Content-Security-Policy header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command

from whatsapp.models import ApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_tries(settings):
    settings.AXES_FAILURE_LIMIT = 3


def attempt(client, url: str, username: str, password: str, address: str = "198.51.100.4"):
    return client.post(
        url,
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE="en",
    )


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_wrong_passwords_lock_the_user_out_even_with_the_right_one_after(
    client, operator, admin_user, three_tries, url
):
    username = "chefe" if url.startswith("/admin") else "operador"
    for _try in range(3):
        assert attempt(client, url, username, "wrong").status_code != 302
    locked = attempt(client, url, username, "pw-123-secret")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode() or url.startswith("/admin")
    # By user name, from another address too; and the address, for another user name.
    assert attempt(client, url, username, "pw-123-secret", "192.0.2.55").status_code == 429
    assert attempt(client, url, "someone-else", "x").status_code == 429
    call_command("axes_reset")
    assert attempt(client, url, username, "pw-123-secret").status_code == 302


def test_the_admin_lists_lockouts(client, admin_user, operator, three_tries):
    for _try in range(3):
        attempt(client, "/accounts/login/", "operador", "wrong")
    client.force_login(admin_user)
    page = client.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and "operador" in page.content.decode()


def test_a_key_over_its_rate_gets_429_with_retry_after(client, db):
    row, key = ApiKey.create("busy", scopes=["read"])
    ApiKey.objects.filter(pk=row.pk).update(rate_limit=1, rate_burst=2)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    codes = [client.get("/api/v1/messages", **headers).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    limited = client.get("/api/v1/messages", **headers)
    assert limited.json()["code"] == "rate_limited"
    assert int(limited["Retry-After"]) >= 1
    # Another key has its own budget.
    _other, other = ApiKey.create("calm", scopes=["read"])
    assert client.get("/api/v1/messages", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 200


def test_pages_carry_a_content_security_policy_without_inline_script(client, operator):
    client.force_login(operator)
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "Content-Security-Policy" in client.get("/api/v1/docs")


@pytest.mark.parametrize("stock", [False, True], ids=["app-middleware", "django-csp-middleware"])
def test_api_answers_carry_the_apis_own_policy(client, settings, stock):
    if stock:  # a host wiring django-csp's own middleware, as docs/embedding.md allows
        settings.MIDDLEWARE = [
            "csp.middleware.CSPMiddleware"
            if name == "whatsapp.csp_middleware.CSPMiddleware"
            else name
            for name in settings.MIDDLEWARE
        ]
    _key, secret = ApiKey.create("reader", scopes=["read"])
    answered = client.get("/api/v1/messages", HTTP_AUTHORIZATION=f"Bearer {secret}")
    refused = client.get("/api/v1/messages")
    assert (answered.status_code, refused.status_code) == (200, 401)
    for response in (answered, refused):
        assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert "Content-Security-Policy-Report-Only" not in response
    # The pages keep theirs.
    assert "script-src 'self'" in client.get("/accounts/login/")["Content-Security-Policy"]


def test_no_template_holds_inline_script_style_or_handlers():
    root = Path(__file__).resolve().parents[2]
    templates = [*root.glob("whatsapp/templates/**/*.html"), *root.glob("templates/**/*.html")]
    inline = re.compile(
        r"<script(?![^>]*\bsrc=)(?![^>]*application/json)|<style|\son[a-z]+=|style="
    )
    offenders = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for path in templates
        for match in inline.finditer(path.read_text())
    ]
    assert not offenders, offenders
