from __future__ import annotations

import requests

from .conftest import SECRET, Api


def test_generate_token_mints_a_token_that_authenticates(sim):
    response = requests.post(f"{sim.url}/api/demo/{SECRET}/generate-token", timeout=5)

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "success"
    assert body["session"] == "demo"
    assert body["token"].startswith("$2b$10$")
    assert "/" not in body["token"]
    assert body["full"] == f"demo:{body['token']}"
    status = requests.get(
        f"{sim.url}/api/demo/status-session",
        headers={"Authorization": f"Bearer {body['token']}"},
        timeout=5,
    )
    assert status.json() == {"status": "CLOSED", "qrcode": None}


def test_generate_token_with_a_wrong_secret_is_a_400(sim):
    response = requests.post(f"{sim.url}/api/demo/WRONG/generate-token", timeout=5)

    assert response.status_code == 400
    assert response.json() == {"response": False, "message": "The SECRET_KEY is incorrect"}


def test_missing_token_bodies_use_the_message_key(sim):
    url = f"{sim.url}/api/demo/status-session"
    missing = {"message": "Token is not present. Check your header and try again"}

    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": sim.token("demo")}):
        response = requests.get(url, headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json() == missing


def test_wrong_token_bodies_use_the_error_key(sim):
    url = f"{sim.url}/api/demo/status-session"
    wrong = {"error": "Check that the Session and Token are correct"}

    for token in ("abc123", sim.token("other"), "$2b$10$" + "x" * 53):
        response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert response.status_code == 401
        assert response.json() == wrong
    path_form = requests.get(f"{sim.url}/api/demo:abc/status-session", timeout=5)
    assert path_form.status_code == 401
    assert path_form.json() == wrong


def test_the_scheme_word_is_not_checked_and_the_path_form_works(sim):
    token = sim.token("demo")

    for scheme in ("Bearer", "Token", "whatever"):
        response = requests.get(
            f"{sim.url}/api/demo/status-session",
            headers={"Authorization": f"{scheme} {token}"},
            timeout=5,
        )
        assert response.status_code == 200
    path_form = requests.get(f"{sim.url}/api/demo:{token}/status-session", timeout=5)
    assert path_form.status_code == 200
    assert path_form.json()["status"] == "CLOSED"
    raw_slashes = token.replace("_", "/")
    header_raw = requests.get(
        f"{sim.url}/api/demo/status-session",
        headers={"Authorization": f"Bearer {raw_slashes}"},
        timeout=5,
    )
    assert header_raw.status_code == 200


def test_show_all_sessions_lists_every_started_name(sim, api):
    assert requests.get(f"{sim.url}/api/{SECRET}/show-all-sessions", timeout=5).json() == {
        "response": []
    }
    api.post("start-session")

    listed = requests.get(f"{sim.url}/api/{SECRET}/show-all-sessions", timeout=5)
    wrong = requests.get(f"{sim.url}/api/WRONG/show-all-sessions", timeout=5)

    assert listed.json() == {"response": ["demo"]}
    assert wrong.status_code == 400
    assert wrong.json() == {"response": False, "message": "The token is incorrect"}


def test_unknown_routes_and_wrong_methods_get_the_express_404_page(sim, api):
    unknown = api.get("does-not-exist")
    wrong_method = api.post("status-session")

    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"].startswith("text/html")
    assert "<pre>Cannot GET /api/demo/does-not-exist</pre>" in unknown.text
    assert wrong_method.status_code == 404
    assert "Cannot POST /api/demo/status-session" in wrong_method.text


def test_responses_carry_express_headers(sim, api):
    response = api.get("status-session")

    assert response.headers["X-Powered-By"] == "Express"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_session_key_is_added_only_for_exact_json_content_type(sim, api):
    json_ct = {**api.headers, "Content-Type": "application/json"}
    url = f"{api.base}/status-session"

    before = requests.get(url, headers=json_ct, timeout=5).json()
    plain = requests.get(url, headers=api.headers, timeout=5).json()
    with_charset = requests.get(
        url, headers={**api.headers, "Content-Type": "application/json; charset=utf-8"}, timeout=5
    ).json()
    denied = requests.get(
        url, headers={"Authorization": "Bearer nope", "Content-Type": "application/json"}, timeout=5
    ).json()
    api.post("start-session")
    after = requests.get(url, headers=json_ct, timeout=5).json()

    assert before["session"] == ""
    assert "session" not in plain
    assert "session" not in with_charset
    assert "session" not in denied
    assert after["session"] == "demo"


def test_session_key_is_absent_for_the_close_session_placeholder(sim, api):
    api.connect()
    api.post("close-session")

    body = api.post("close-session").json()

    assert body == {"status": True, "message": "Session successfully closed"}


def test_healthz_answers_and_hangs_with_a_json_content_type(sim):
    ok = requests.get(f"{sim.url}/healthz", timeout=5)

    assert ok.status_code == 200
    assert ok.json()["message"] == "OK"
    assert isinstance(ok.json()["timestamp"], int)
    try:
        requests.get(
            f"{sim.url}/healthz", headers={"Content-Type": "application/json"}, timeout=0.5
        )
    except requests.exceptions.ReadTimeout:
        pass
    else:
        raise AssertionError("healthz answered despite the JSON content type")


def test_metrics_is_prometheus_text(sim):
    response = requests.get(f"{sim.url}/metrics", timeout=5)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "wppsim_uptime_seconds" in response.text


def test_tokens_are_per_session(sim):
    other = Api(sim, "other")
    response = requests.get(f"{sim.url}/api/demo/status-session", headers=other.headers, timeout=5)

    assert response.status_code == 401
