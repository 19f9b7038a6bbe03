"""Playwright on Debian's chromium against the live server, real workers and the simulator."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "pw-123-secret"  # the `operator` fixture's
WAIT_MS = 25_000
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (make test does).")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the tests' own ORM calls are
    # still synchronous, so Django's guard against ORM calls inside a loop does not apply.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Requests:
    """Every URL the page asked for, to prove nothing leaves the app."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.urls: list[str] = []

    def outside(self) -> list[str]:
        allowed = (self.base + "/", "data:", "about:")
        return [u for u in self.urls if not u.startswith(allowed) and u != self.base]


@pytest.fixture
def requests_seen(live_server):
    return Requests(live_server.url)


@pytest.fixture
def page(browser, live_server, requests_seen):
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 800}, locale="pt-BR"
    )
    # Every page runs under the app's Content-Security-Policy: any violation fails the test,
    # whether the browser reports it as an event or only on the console.
    violations: list[str] = []
    context.expose_function("__cspViolation", lambda text: violations.append(text))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.on("request", lambda request: requests_seen.urls.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    unprotected: list[str] = []
    page.on(
        "response",
        lambda response: (
            unprotected.append(response.url)
            if response.request.resource_type == "document"
            and response.url.startswith(live_server.url)
            and "content-security-policy" not in response.headers
            else None
        ),
    )
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not violations, f"Content-Security-Policy violations: {violations}"
    assert not unprotected, f"pages without a Content-Security-Policy: {unprotected}"
    assert not requests_seen.outside(), f"requests outside the app: {requests_seen.outside()}"


def login(page, username: str = "operador", password: str = PASSWORD, next_url: str = "") -> None:
    page.goto(f"/accounts/login/{'?next=' + next_url if next_url else ''}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def mark_loaded(page) -> None:
    """A marker that only survives while the page is never reloaded or navigated."""
    page.evaluate("window.__loaded = true")


def still_same_page(page) -> bool:
    return page.evaluate("window.__loaded === true")
