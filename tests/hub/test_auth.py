"""The bearer API-key dependency: refusals in OpenAI's error shape, scopes, allowed models, last use."""

from __future__ import annotations

import datetime as dt

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
    openai_error(client.get(CURRENT, headers={"Authorization": "Basic abc"}), 401, "missing_api_key",
                 "invalid_request_error")
    wrong = key["secret"][:-1] + ("A" if key["secret"][-1] != "A" else "B")
    for secret in (wrong, "sk-smile-short", "not-a-key", key["hint"].replace("…", "")):
        r = client.get(CURRENT, headers=bearer(secret))
        openai_error(r, 401, "invalid_api_key", "invalid_request_error")
        assert r.headers["WWW-Authenticate"] == "Bearer"


def test_revoked_and_expired_keys_are_refused(signup, make_key, client, db):
    alice = signup()
    revoked, expiring = make_key(alice), make_key(alice, expires_at=(
        dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat())
    assert client.get(CURRENT, headers=bearer(expiring["secret"])).status_code == 200
    alice.delete(f"/api/v1/hub/keys/{revoked['id']}")
    openai_error(client.get(CURRENT, headers=bearer(revoked["secret"])), 401, "api_key_revoked",
                 "invalid_request_error")
    db.execute("UPDATE hub_api_keys SET expires_at = now() - interval '1 second' WHERE id = %s", (expiring["id"],))
    openai_error(client.get(CURRENT, headers=bearer(expiring["secret"])), 401, "api_key_expired",
                 "invalid_request_error")
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
    error = openai_error(client.post(probe, json={"model": "any"}, headers=bearer(embeddings_only["secret"])),
                         403, "missing_scope", "permission_error")
    assert "'chat'" in error["message"]


def test_allowed_models_are_enforced(signup, make_key, client, probe):
    alice = signup()
    narrow = make_key(alice, allowed_models=["gpt-a", "claude-b"])
    wide = make_key(alice)
    assert client.post(probe, json={"model": "gpt-a"}, headers=bearer(narrow["secret"])).status_code == 200
    assert client.post(probe, json={"model": "claude-b"}, headers=bearer(narrow["secret"])).status_code == 200
    error = openai_error(client.post(probe, json={"model": "gpt-c"}, headers=bearer(narrow["secret"])),
                         403, "model_not_allowed", "permission_error", "model")
    assert "gpt-c" in error["message"]
    assert client.post(probe, json={"model": "gpt-c"}, headers=bearer(wide["secret"])).status_code == 200


def test_bad_input_on_key_routes_uses_openai_shape(signup, make_key, client, probe):
    key = make_key(signup())
    openai_error(client.post(probe, json={"tokens": 5}, headers=bearer(key["secret"])), 400, "invalid_request",
                 "invalid_request_error", "model")
    openai_error(client.post(probe, content=b"{not json", headers={**bearer(key["secret"]),
                                                                      "Content-Type": "application/json"}),
                 400, "invalid_json", "invalid_request_error")


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
