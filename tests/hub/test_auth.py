"""The bearer API-key dependency: refusals in OpenAI's error shape, scopes, allowed models, last use."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

from tests.hub.conftest import bearer

CURRENT = "/api/v1/hub/keys/current"


def openai_error(r, status: int, code: str, type_: str, param=None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    assert (body["error"]["code"], body["error"]["type"], body["error"]["param"]) == (code, type_, param), body
    assert body["error"]["message"]
    return body["error"]


def test_current_key_introspection(signup, make_key, client):
    alice = signup()
    key = make_key(alice, name="ci", scopes=["models"])
    r = client.get(CURRENT, headers=bearer(key["secret"]))
    assert r.status_code == 200, r.text
    assert r.json()["key"]["id"] == key["id"] and r.json()["key"]["scopes"] == ["models"]
    assert (r.json()["user_id"], r.json()["username"]) == (alice.user["id"], alice.user["username"])
    assert "secret" not in r.json()["key"]


def test_missing_and_wrong_keys_are_401(client, signup, make_key):
    key = make_key(signup())
    openai_error(client.get(CURRENT), 401, "missing_api_key", "invalid_request_error")
    openai_error(
        client.get(CURRENT, headers={"Authorization": "Basic abc"}), 401, "missing_api_key", "invalid_request_error"
    )
    wrong = key["secret"][:-1] + ("A" if key["secret"][-1] != "A" else "B")
    for secret in (wrong, "sk-smile-short", "not-a-key", key["hint"].replace("…", "")):
        r = client.get(CURRENT, headers=bearer(secret))
        openai_error(r, 401, "invalid_api_key", "invalid_request_error")
        assert r.headers["WWW-Authenticate"] == "Bearer"


def test_revoked_and_expired_keys_are_refused(signup, make_key, client, db):
    alice = signup()
    revoked, expiring = (
        make_key(alice),
        make_key(alice, expires_at=(dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()),
    )
    assert client.get(CURRENT, headers=bearer(expiring["secret"])).status_code == 200
    alice.delete(f"/api/v1/hub/keys/{revoked['id']}")
    openai_error(
        client.get(CURRENT, headers=bearer(revoked["secret"])), 401, "api_key_revoked", "invalid_request_error"
    )
    db.execute("UPDATE hub_api_keys SET expires_at = now() - interval '1 second' WHERE id = %s", (expiring["id"],))
    openai_error(
        client.get(CURRENT, headers=bearer(expiring["secret"])), 401, "api_key_expired", "invalid_request_error"
    )
    assert alice.get(f"/api/v1/hub/keys/{expiring['id']}").json()["status"] == "expired"


def test_suspended_owner_is_refused(signup, make_key, client, db):
    alice = signup()
    key = make_key(alice)
    db.execute("UPDATE users SET status = 'suspended' WHERE id = %s", (alice.user["id"],))
    openai_error(client.get(CURRENT, headers=bearer(key["secret"])), 403, "account_suspended", "permission_error")


def test_scopes_are_enforced(signup, make_key, client, probe):
    alice = signup()
    chat = make_key(alice, scopes=["chat"])
    embeddings_only = make_key(alice, scopes=["embeddings", "usage"])
    r = client.post(probe, json={"model": "any"}, headers=bearer(chat["secret"]))
    assert r.status_code == 200 and r.json()["key_id"] == chat["id"]
    error = openai_error(
        client.post(probe, json={"model": "any"}, headers=bearer(embeddings_only["secret"])),
        403,
        "missing_scope",
        "permission_error",
    )
    assert "'chat'" in error["message"]


def test_allowed_models_are_enforced(signup, make_key, client, probe):
    alice = signup()
    narrow = make_key(alice, allowed_models=["gpt-a", "claude-b"])
    wide = make_key(alice)
    assert client.post(probe, json={"model": "gpt-a"}, headers=bearer(narrow["secret"])).status_code == 200
    assert client.post(probe, json={"model": "claude-b"}, headers=bearer(narrow["secret"])).status_code == 200
    error = openai_error(
        client.post(probe, json={"model": "gpt-c"}, headers=bearer(narrow["secret"])),
        403,
        "model_not_allowed",
        "permission_error",
        "model",
    )
    assert "gpt-c" in error["message"]
    assert client.post(probe, json={"model": "gpt-c"}, headers=bearer(wide["secret"])).status_code == 200


def test_bad_input_on_key_routes_uses_openai_shape(signup, make_key, client, probe):
    key = make_key(signup())
    openai_error(
        client.post(probe, json={"tokens": 5}, headers=bearer(key["secret"])),
        400,
        "invalid_request",
        "invalid_request_error",
        "model",
    )
    openai_error(
        client.post(probe, content=b"{not json", headers={**bearer(key["secret"]), "Content-Type": "application/json"}),
        400,
        "invalid_json",
        "invalid_request_error",
    )


def test_last_used_is_recorded_at_most_once_a_minute(signup, make_key, client, db):
    key = make_key(signup())
    assert db.execute("SELECT last_used_at FROM hub_api_keys WHERE id = %s", (key["id"],)).fetchone()[0] is None
    assert client.get(CURRENT, headers=bearer(key["secret"])).status_code == 200
    first = db.execute("SELECT last_used_at FROM hub_api_keys WHERE id = %s", (key["id"],)).fetchone()[0]
    assert first is not None
    assert client.get(CURRENT, headers=bearer(key["secret"])).status_code == 200
    assert db.execute("SELECT last_used_at FROM hub_api_keys WHERE id = %s", (key["id"],)).fetchone()[0] == first
    db.execute("UPDATE hub_api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = %s", (key["id"],))
    assert client.get(CURRENT, headers=bearer(key["secret"])).status_code == 200
    later = db.execute("SELECT last_used_at FROM hub_api_keys WHERE id = %s", (key["id"],)).fetchone()[0]
    assert later > first


def reset_password(client, mailbox, email: str) -> None:
    assert client.post("/api/v1/auth/password-reset", json={"email": email}).status_code == 202
    token = parse_qs(urlsplit(mailbox.link(email, "Reset your password")).query)["token"][0]
    r = client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "Fresh-Start-2027"})
    assert r.status_code == 200, r.text


def test_password_reset_revokes_every_key_and_says_so(signup, make_key, client, mailbox, db):
    alice, bob = signup(), signup()
    keys, bobs = [make_key(alice, name="ci"), make_key(alice, name="laptop")], make_key(bob)
    assert client.get(CURRENT, headers=bearer(keys[0]["secret"])).status_code == 200
    reset_password(client, mailbox, alice.email)
    for key in keys:
        openai_error(
            client.get(CURRENT, headers=bearer(key["secret"])), 401, "api_key_revoked", "invalid_request_error"
        )
    assert client.get(CURRENT, headers=bearer(bobs["secret"])).status_code == 200  # only the owner's keys
    assert "2 API keys were revoked" in mailbox.wait(alice.email, "password was changed")["body"]
    rows = db.execute(
        "SELECT detail->>'reason', detail->>'count' FROM audit_log WHERE action = 'api_key.revoked_all'"
    ).fetchall()
    assert rows == [("password_reset", "2")]


def test_signing_out_other_devices_revokes_the_keys(signup, make_key, client):
    alice = signup()
    key = make_key(alice)
    r = alice.post("/api/v1/auth/sessions/revoke-others")
    assert r.status_code == 200 and r.json()["api_keys_revoked"] == 1
    assert "1 API key was revoked" in r.json()["detail"]
    openai_error(client.get(CURRENT, headers=bearer(key["secret"])), 401, "api_key_revoked", "invalid_request_error")
    assert alice.get(f"/api/v1/hub/keys/{key['id']}").json()["status"] == "revoked"


def test_keys_of_an_account_waiting_for_deletion_are_refused_until_it_is_cancelled(
    signup, make_key, make_client, client
):
    alice = signup()
    key = make_key(alice)
    assert alice.delete("/api/v1/users/me", json={"password": alice.password}).status_code == 202
    error = openai_error(
        client.get(CURRENT, headers=bearer(key["secret"])), 403, "account_pending_deletion", "permission_error"
    )
    assert "cancel the deletion" in error["message"]
    again = make_client()
    r = again.post("/api/v1/auth/login", json={"login": alice.email, "password": alice.password})
    again.access = r.json()["access_token"]
    assert again.post("/api/v1/users/me/deletion/cancel").status_code == 200
    assert client.get(CURRENT, headers=bearer(key["secret"])).status_code == 200


def test_creating_a_key_emails_the_owner(signup, make_key, mailbox):
    alice = signup()
    key = make_key(alice, name="deploy bot", scopes=["chat", "models"])
    body = mailbox.wait(alice.email, "A new API key was created")["body"]
    assert '"deploy bot"' in body and key["hint"] in body and "chat, models" in body and "/hub/keys" in body
    assert key["secret"] not in body
