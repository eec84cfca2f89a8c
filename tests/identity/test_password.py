"""Password reset by emailed link, and password change."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

NEW_PASSWORD = "Brand-New-Secret-77"


def reset_link(api, mailbox, client, after=0) -> str:
    r = client.post("/api/v1/auth/password-reset", json={"email": api.email.upper()})
    assert r.status_code == 202
    return mailbox.link(api.email, "Reset your password", after=after)


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def login(client, who, password):
    return client.post("/api/v1/auth/login", json={"login": who, "password": password})


def test_reset_link_is_single_use_and_signs_out_everywhere(signup, client, mailbox, db):
    api = signup()
    link = reset_link(api, mailbox, client)
    assert link.startswith("http://testserver.local/password-reset/confirm?token=")
    token = token_of(link)
    stored = db.execute("SELECT token_hash, expires_at - created_at FROM password_resets").fetchone()
    assert stored[0] != token and len(stored[0]) == 64 and stored[1].total_seconds() == pytest.approx(3600, abs=2)
    r = client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "weak"})
    assert r.status_code == 422 and "at least 10 characters" in r.json()["fields"]["password"]
    r = client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 200 and "changed" in r.json()["detail"]
    assert api.get("/api/v1/auth/sessions").status_code == 401  # every session revoked
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": api.refresh}).status_code == 401
    assert login(client, api.email, api.password).status_code == 401
    assert login(client, api.email, NEW_PASSWORD).status_code == 200
    r = client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "Another-Pass-99"})
    assert r.status_code == 422 and r.json()["error"] == "reset_link_invalid"
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'password.reset'").fetchone() == (1,)
    assert "was changed" in mailbox.wait(api.email, "password was changed")["subject"]


def test_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(client, mailbox, signup):
    api = signup()
    known = client.post("/api/v1/auth/password-reset", json={"email": api.email})
    unknown = client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    mailbox.wait(api.email, "Reset your password")
    assert mailbox.count("nobody@example.com") == 0
    bad = client.post("/api/v1/auth/password-reset", json={"email": "not an email"})
    assert bad.status_code == 422 and "email" in bad.json()["fields"]


def test_expired_and_forged_reset_links_fail(signup, client, mailbox, db):
    api = signup()
    token = token_of(reset_link(api, mailbox, client))
    db.execute("UPDATE password_resets SET expires_at = now() - interval '1 second'")
    r = client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 422 and "60 minutes" in r.json()["detail"]
    r = client.post("/api/v1/auth/password-reset/confirm", json={"token": "forged", "password": NEW_PASSWORD})
    assert r.status_code == 422 and r.json()["error"] == "reset_link_invalid"
    assert login(client, api.email, api.password).status_code == 200


def test_using_one_link_spends_the_older_ones(signup, client, mailbox):
    api = signup()
    older = token_of(reset_link(api, mailbox, client))
    newer = token_of(reset_link(api, mailbox, client, after=1))
    assert older != newer
    assert (
        client.post("/api/v1/auth/password-reset/confirm", json={"token": newer, "password": NEW_PASSWORD}).status_code
        == 200
    )
    r = client.post("/api/v1/auth/password-reset/confirm", json={"token": older, "password": "Yet-Another-55"})
    assert r.status_code == 422


def test_reset_through_the_pages(signup, client, mailbox, browser):
    api = signup()
    web = browser()
    assert web.get("/password-reset").status_code == 200
    r = web.post("/password-reset", data={"csrf_token": web.cookies["smile_csrf"], "email": api.email})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "we emailed it a link" in web.get("/login").text
    link = mailbox.link(api.email, "Reset your password")
    path = link.removeprefix("http://testserver.local")
    page = web.get(path)
    assert page.status_code == 200 and "Choose a new password" in page.text
    form = {"csrf_token": web.cookies["smile_csrf"], "token": token_of(link)}
    r = web.post("/password-reset/confirm", data={**form, "password": "alllowercase"})
    assert r.status_code == 422 and "uppercase" in r.text
    r = web.post("/password-reset/confirm", data={**form, "password": NEW_PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    used = web.get(path)
    assert used.status_code == 400 and "does not work any more" in used.text
    assert login(client, api.email, NEW_PASSWORD).status_code == 200


def test_change_password_signs_out_the_other_sessions(signup, make_client, client, db):
    api = signup()
    other = make_client()
    r = login(other, api.email, api.password)
    other.access = r.json()["access_token"]
    r = api.post("/api/v1/auth/password", json={"current_password": "Wrong-One-123", "new_password": "short"})
    assert r.status_code == 422
    assert set(r.json()["fields"]) == {"current_password", "new_password"}
    assert other.get("/api/v1/auth/sessions").status_code == 200  # nothing changed
    r = api.post("/api/v1/auth/password", json={"current_password": api.password, "new_password": NEW_PASSWORD})
    assert r.status_code == 200 and "1 other session" in r.json()["detail"]
    assert other.get("/api/v1/auth/sessions").status_code == 401
    assert api.get("/api/v1/auth/sessions").status_code == 200
    assert login(client, api.email, NEW_PASSWORD).status_code == 200
    row = db.execute("SELECT detail->>'sessions_revoked' FROM audit_log WHERE action = 'password.change'").fetchone()
    assert row == ("1",)


def test_change_password_through_the_settings_page(signup, browser, client):
    api = signup()
    web = browser(api)
    form = {"csrf_token": web.cookies["smile_csrf"], "current_password": api.password}
    r = web.post("/settings/password", data={**form, "new_password": api.user["username"] + "X9"})
    assert r.status_code == 422 and "not containing your username" in r.text and "this device" in r.text
    r = web.post("/settings/password", data={**form, "new_password": NEW_PASSWORD})
    assert r.status_code == 303
    assert "Your password has been changed and 1 other device" in web.get("/settings/sessions").text
    assert api.get("/api/v1/auth/sessions").status_code == 401
    assert login(client, api.email, NEW_PASSWORD).status_code == 200
