"""Open redirects: every `next`, `return_url` and Referer goes through kit.redirects."""

from __future__ import annotations

import re
from html import unescape

import pytest

from smile.kit.redirects import is_safe, safe_next

NASTY = [
    "//evil.example",
    "/\\evil.example/x",
    "\\\\evil.example",
    "\\/evil.example",
    "https://evil.example",
    "http:/evil.example",
    "/%2F%2Fevil.example",
    "/%2f%5cevil.example",
    "/%252F%252Fevil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/ /evil.example",
    "/\x00/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>",
    "evil.example",
    "",
    "/" + "a" * 3000,
]
FINE = ["/", "/settings/sessions", "/billing/payments?tab=cards#saved", "/u/alice%20b", "/search?q=a%2Fb", "/café"]


@pytest.mark.parametrize("target", NASTY)
def test_nasty_targets_fall_back(target):
    assert not is_safe(target)
    assert safe_next(target) == "/" and safe_next(target, "/billing") == "/billing"


@pytest.mark.parametrize("target", FINE)
def test_local_paths_pass(target):
    assert safe_next(target, "/fallback") == target


def _login(web, api, next_):
    return web.post(
        "/login",
        data={"csrf_token": web.cookies["smile_csrf"], "login": api.email, "password": api.password, "next": next_},
    )


def test_login_next_and_portal_return_url_refuse_other_sites(signup, browser, client):
    api = signup("alice")
    for target in ("/\\evil.example/x", "/%2F%2Fevil.example", "/\t/evil.example", "\\\\evil.example"):
        r = _login(browser(), api, target)
        assert r.status_code == 303 and r.headers["location"] == "/", target
        # the login page keeps only a safe `next` in its form
        page = browser().get("/login", params={"next": target}).text
        assert "evil.example" not in unescape(page), target
    assert _login(browser(), api, "/settings/sessions").headers["location"] == "/settings/sessions"

    web = browser(api)
    for target in (
        "/\\evil.example/x",
        "//evil.example",
        "https://evil.example",
        "/%2F%2Fevil.example",
        "javascript:alert(1)",
        "/\n/evil.example",
    ):
        page = web.get("/billing/sandbox/portal", params={"return_url": target})
        assert page.status_code == 200
        back = re.search(r'<a href="([^"]*)">← Back</a>', page.text).group(1)
        assert unescape(back) == "/billing/payments", target
    page = web.get("/billing/sandbox/portal", params={"return_url": "/billing/wallet"})
    assert '<a href="/billing/wallet">' in page.text

    # the JSON API refuses such a return_url outright
    for target in ("/\\evil.example/x", "//evil.example", "/%2F%2Fevil.example"):
        r = api.post("/api/v1/billing/portal", params={"return_url": target})
        assert r.status_code == 422 and "return_url" in r.json()["fields"], target
    r = api.post("/api/v1/billing/portal", params={"return_url": "/billing/wallet"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"  # valid; but no card was ever used


def test_referer_back_links_stay_on_site(signup, browser, server):
    api = signup("alice")
    web = browser(api, csrf=True)
    r = web.post("/u/nobody-here/follow", headers={"Referer": "https://evil.example/x"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    r = web.post("/u/nobody-here/follow", headers={"Referer": f"{server.url}//evil.example/x"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    r = web.post("/u/nobody-here/follow", headers={"Referer": f"{server.url}/explore?x=1"})
    assert r.status_code == 303 and r.headers["location"] == "/explore?x=1"
