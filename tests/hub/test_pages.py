"""The /hub/keys page over plain HTTP: the form without JavaScript, HTMX partials, ownership."""

from __future__ import annotations

import re

HTML = {"Accept": "text/html"}
FORM = {
    "name": "cron job",
    "scopes": ["chat", "usage"],
    "allowed_models": "gpt-a gpt-b",
    "credit_limit": "",
    "expires": "30",
}


def test_create_without_javascript_shows_the_secret_once(signup):
    alice = signup()
    r = alice.post("/hub/keys", data=FORM, headers=HTML)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    secret = re.search(r'value="(sk-smile-[A-Za-z0-9_-]{43})"', r.text).group(1)
    key = alice.get("/api/v1/hub/keys").json()["items"][0]
    assert (key["name"], key["scopes"], key["allowed_models"]) == ("cron job", ["chat", "usage"], ["gpt-a", "gpt-b"])
    assert key["expires_at"] is not None and key["credit_limit"] is None
    page = alice.get("/hub/keys", headers=HTML)
    assert page.status_code == 200 and "cron job" in page.text and key["hint"] in page.text
    assert secret not in page.text


def test_htmx_form_errors_come_back_in_the_dialog(signup):
    alice = signup()
    r = alice.post(
        "/hub/keys", data={**FORM, "credit_limit": "lots", "scopes": []}, headers={**HTML, "HX-Request": "true"}
    )
    assert r.status_code == 200 and "<html" not in r.text
    assert 'id="f-credit_limit-error"' in r.text and "Pick at least one scope." in r.text
    assert 'value="cron job"' in r.text  # what was typed is kept
    r = alice.post("/hub/keys", data=FORM, headers={**HTML, "HX-Request": "true"})
    assert r.status_code == 200 and 'id="new-key-secret"' in r.text and "<html" not in r.text
    assert len(alice.get("/api/v1/hub/keys").json()["items"]) == 1


def test_unverified_user_cannot_create_from_the_page(signup):
    early = signup(verify=False)
    r = early.post("/hub/keys", data=FORM, headers={**HTML, "HX-Request": "true"})
    assert "Verify your email address" in r.text and "new-key-secret" not in r.text
    assert early.get("/api/v1/hub/keys").json()["items"] == []


def test_revoking_another_users_key_is_not_found(signup, make_key):
    alice, bob = signup(), signup()
    key = make_key(alice)
    r = bob.post(f"/hub/keys/{key['id']}/revoke", headers=HTML)
    assert r.status_code == 404
    assert alice.get(f"/api/v1/hub/keys/{key['id']}").json()["status"] == "active"
    r = alice.post(f"/hub/keys/{key['id']}/revoke", headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/hub/keys"
    assert alice.get(f"/api/v1/hub/keys/{key['id']}").json()["status"] == "revoked"
