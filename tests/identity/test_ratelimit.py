"""Per-account lockout after failed sign-ins, and per-IP rate limits on the auth endpoints.

The test settings lock an account after 5 failures in 15 minutes.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support import STRONG_PASSWORD

WRONG = "Wrong-Password-1"


def login(client, who, password):
    return client.post("/api/v1/auth/login", json={"login": who, "password": password})


def assert_locked(r):
    assert r.status_code == 429
    body = r.json()
    assert body["error"] == "locked_out" and body["fields"] == {}
    assert "locked" in body["detail"] and "Try again in 15 minutes" in body["detail"]
    assert 14 * 60 <= int(r.headers["retry-after"]) <= 15 * 60 + 1


def test_lockout_after_five_failures(signup, client, db):
    api = signup()
    for _ in range(4):
        assert login(client, api.email, WRONG).status_code == 401
    assert_locked(login(client, api.email, WRONG))
    assert_locked(login(client, api.user["username"], STRONG_PASSWORD))  # even the right password waits
    assert api.get("/api/v1/auth/sessions").status_code == 200  # existing sessions keep working
    rows = db.execute("SELECT action, target_id FROM audit_log WHERE action = 'auth.lockout'").fetchall()
    assert rows == [("auth.lockout", api.user["id"])]


def test_success_clears_the_failures(signup, client):
    api = signup()
    for _ in range(4):
        assert login(client, api.email, WRONG).status_code == 401
    assert login(client, api.email, STRONG_PASSWORD).status_code == 200
    for _ in range(4):
        assert login(client, api.email, WRONG).status_code == 401
    assert login(client, api.email, STRONG_PASSWORD).status_code == 200


def test_unknown_accounts_lock_out_the_same_way(client):
    answers = [login(client, "ghost@example.com", WRONG) for _ in range(5)]
    assert [a.status_code for a in answers] == [401] * 4 + [429]
    assert_locked(answers[-1])


def test_password_reset_lifts_the_lockout(signup, client, mailbox):
    api = signup()
    for _ in range(5):
        login(client, api.email, WRONG)
    assert_locked(login(client, api.email, STRONG_PASSWORD))
    client.post("/api/v1/auth/password-reset", json={"email": api.email})
    token = parse_qs(urlsplit(mailbox.link(api.email, "Reset your password")).query)["token"][0]
    r = client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "Fresh-Start-2024"})
    assert r.status_code == 200
    assert login(client, api.email, "Fresh-Start-2024").status_code == 200


def test_login_page_shows_the_lockout(signup, server):
    api = signup()
    with httpx.Client(base_url=server.url, headers={"Accept": "text/html"}) as web:
        web.get("/login")
        form = {"csrf_token": web.cookies["smile_csrf"], "login": api.email}
        statuses = [web.post("/login", data={**form, "password": WRONG}).status_code for _ in range(4)]
        assert statuses == [401] * 4
        r = web.post("/login", data={**form, "password": WRONG})
        assert r.status_code == 429 and "retry-after" in r.headers
        assert "Too many failed sign-in attempts" in r.text and "Resetting your password" in r.text


def test_rate_limit_answer_shape(client):
    answers = [client.post("/api/v1/auth/password-reset", json={"email": f"p{i}@example.com"}) for i in range(6)]
    assert [a.status_code for a in answers] == [202] * 5 + [429]
    limited = answers[-1]
    assert limited.json() == {"error": "rate_limited", "detail": limited.json()["detail"], "fields": {}}
    assert "Too many password reset requests" in limited.json()["detail"]
    assert 1 <= int(limited.headers["retry-after"]) <= 60


def test_register_is_limited_per_ip(client):
    def register(i):
        return client.post(
            "/api/v1/auth/register",
            json={
                "email": f"r{i}@example.com",
                "username": f"r{i}_user",
                "password": STRONG_PASSWORD,
                "display_name": "R",
                "accept_terms": True,
            },
        )

    answers = [register(i).status_code for i in range(11)]
    assert answers == [201] * 10 + [429]


def test_code_verification_is_rate_limited(signup):
    api = signup(verify=False)
    answers = [api.post("/api/v1/auth/verify-email", json={"code": "000000"}).status_code for _ in range(21)]
    assert answers[-1] == 429 and 429 not in answers[:20]
