"""Browser fixtures: Playwright driving Debian's Chromium against the live server.

The Playwright browser is `chromium`, so that `browser` (tests/conftest.py: httpx clients for the HTML
tests) means one thing everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.support import STRONG_PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="module")
def chromium():
    # Module scope: Playwright's sync API keeps an event loop running on the main thread
    # while it is open, which would break later tests that call asyncio.run().
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


# What Chromium says on the console when the Content-Security-Policy blocks something, or when
# Alpine's CSP build cannot evaluate an attribute: every browser test fails on these.
CSP_PROBLEMS = ("Content Security Policy", "Refused to", "Alpine Expression Error", "CSP Parser Error")


def csp_problem(text: str) -> bool:
    return any(marker in text for marker in CSP_PROBLEMS)


@pytest.fixture
def new_page(chromium, server):
    """New pages (each in its own context) on the live server, with the site's real security headers.
    A console message about a CSP violation (or an Alpine expression the CSP build refused) on any of
    them fails the test."""
    contexts = []
    problems: list[str] = []

    def make(width: int = 1280, height: int = 900):
        context = chromium.new_context(base_url=server.url, viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        # stream.js re-dispatches every stream message as a DOM event; remember the "ready" one
        context.add_init_script("document.addEventListener('smile:ready', () => { window.smileReady = true; })")
        context.on(
            "console",
            lambda msg: (
                problems.append(f"{msg.page.url if msg.page else '?'}: {msg.text}") if csp_problem(msg.text) else None
            ),
        )
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    assert not problems, "the Content-Security-Policy refused something:\n" + "\n".join(problems)


@pytest.fixture
def log_in():
    """Sign in through the /login form of a page; waits for the signed-in nav unless signed_in=False
    (a wrong password, or a second step such as two-factor, follows)."""

    def go(page, login: str, password: str = STRONG_PASSWORD, *, signed_in: bool = True) -> None:
        page.goto("/login")
        page.fill("#f-login", login)
        page.fill("#f-password", password)
        page.click("form[action='/login'] button[type=submit]")
        if signed_in:
            expect(page.locator("nav")).to_contain_text("Log out")

    return go


@pytest.fixture
def shot():
    """Save a screenshot under var/screenshots for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
