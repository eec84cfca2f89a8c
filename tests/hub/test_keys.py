"""API keys through the JSON API: lifecycle, secrets shown once and hashed at rest, ownership."""

from __future__ import annotations

import datetime as dt
import uuid

from smile.kit.security import hash_token
from tests.hub.conftest import bearer

KEYS = "/api/v1/hub/keys"


def test_key_lifecycle(signup, make_key):
    alice = signup()
    created = make_key(
        alice,
        name="laptop",
        scopes=["chat", "models"],
        allowed_models=["gpt-a", "gpt-b"],
        credit_limit=500,
        rpm_limit=10,
    )
    assert created["secret"].startswith("sk-smile-") and len(created["secret"]) == 9 + 43
    assert created["hint"] == f"sk-smile-{created['secret'][9:13]}…{created['secret'][-4:]}"
    assert created["status"] == "active" and created["scopes"] == ["chat", "models"]
    assert created["allowed_models"] == ["gpt-a", "gpt-b"]
    assert (created["credit_limit"], created["spent_credits"], created["rpm_limit"]) == (500, 0, 10)
    assert created["tpm_limit"] == 100_000 and created["last_used_at"] is None and created["expires_at"] is None

    listed = alice.get(KEYS).json()
    assert [k["id"] for k in listed["items"]] == [created["id"]] and listed["next_cursor"] is None

    r = alice.patch(f"{KEYS}/{created['id']}", json={"name": "desk", "credit_limit": None, "scopes": ["chat"]})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["credit_limit"], r.json()["scopes"]) == ("desk", None, ["chat"])
    assert r.json()["allowed_models"] == ["gpt-a", "gpt-b"]  # left out: unchanged

    r = alice.delete(f"{KEYS}/{created['id']}")
    assert r.status_code == 200 and r.json()["status"] == "revoked" and r.json()["revoked_at"]
    assert alice.delete(f"{KEYS}/{created['id']}").json()["revoked_at"] == r.json()["revoked_at"]  # idempotent
    assert alice.get(KEYS, params={"status": "active"}).json()["items"] == []
    assert [k["status"] for k in alice.get(KEYS, params={"status": "inactive"}).json()["items"]] == ["revoked"]
    r = alice.patch(f"{KEYS}/{created['id']}", json={"name": "again"})
    assert r.status_code == 409 and r.json()["error"] == "key_inactive"


def test_secret_is_shown_once_and_hashed_at_rest(signup, make_key, db, settings):
    alice = signup()
    created = make_key(alice)
    secret = created["secret"]
    for r in (
        alice.get(KEYS),
        alice.get(f"{KEYS}/{created['id']}"),
        alice.patch(f"{KEYS}/{created['id']}", json={"name": "renamed"}),
    ):
        assert r.status_code == 200 and secret not in r.text and "secret" not in r.json()
    row = db.execute("SELECT key_hash, hint, t::text FROM hub_api_keys t WHERE id = %s", (created["id"],)).fetchone()
    assert row[0] == hash_token(secret, settings.secret_key) and len(row[0]) == 64
    assert secret not in row[2] and secret[9:] not in row[2]
    audit = db.execute("SELECT detail::text FROM audit_log WHERE action = 'api_key.created'").fetchone()
    assert audit is not None and secret not in audit[0]


def test_pagination_newest_first(signup, make_key):
    alice = signup()
    ids = [make_key(alice, name=f"k{i}")["id"] for i in range(3)]
    first = alice.get(KEYS, params={"limit": 2}).json()
    assert [k["id"] for k in first["items"]] == ids[:0:-1]
    rest = alice.get(KEYS, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [k["id"] for k in rest["items"]] == ids[:1] and rest["next_cursor"] is None
    assert alice.get(KEYS, params={"cursor": "!!"}).status_code == 422


def test_another_users_key_is_not_found(signup, make_key):
    alice, bob = signup(), signup()
    key = make_key(alice)
    assert bob.get(f"{KEYS}/{key['id']}").status_code == 404
    assert bob.patch(f"{KEYS}/{key['id']}", json={"name": "mine"}).status_code == 404
    r = bob.delete(f"{KEYS}/{key['id']}")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert bob.get(KEYS).json()["items"] == []
    assert bob.get(f"{KEYS}/{uuid.uuid4()}").status_code == 404
    assert alice.get(f"{KEYS}/{key['id']}").json()["status"] == "active"


def test_bad_input_is_refused(signup, client):
    alice = signup()
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    cases = [
        ({"name": ""}, "name"),
        ({"name": "x", "scopes": ["admin"]}, "scopes.0"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "credit_limit": 0}, "credit_limit"),
        ({"name": "x", "expires_at": past}, "expires_at"),
        ({"name": "x", "allowed_models": ["bad model!"]}, "allowed_models.0"),
    ]
    for body, field in cases:
        r = alice.post(KEYS, json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.json()["fields"], (body, r.json())
    assert alice.get(KEYS).json()["items"] == []
    assert client.post(KEYS, json={"name": "anonymous"}).status_code == 401
    unverified = signup(verify=False)
    r = unverified.post(KEYS, json={"name": "early"})
    assert r.status_code == 403 and r.json()["error"] == "email_unverified"


def test_credit_limit_cannot_drop_below_spend(signup, make_key, db):
    alice = signup()
    key = make_key(alice, credit_limit=100)
    db.execute("UPDATE hub_api_keys SET spent_credits = 60 WHERE id = %s", (key["id"],))
    r = alice.patch(f"{KEYS}/{key['id']}", json={"credit_limit": 50})
    assert r.status_code == 422 and "credit_limit" in r.json()["fields"]
    assert alice.patch(f"{KEYS}/{key['id']}", json={"credit_limit": 60}).json()["credit_limit"] == 60


def test_active_key_cap(signup, make_key, monkeypatch, settings):
    monkeypatch.setattr(settings, "hub_max_keys", 2)
    alice = signup()
    first = make_key(alice)
    make_key(alice)
    r = alice.post(KEYS, json={"name": "third"})
    assert r.status_code == 409 and r.json()["error"] == "too_many_keys"
    alice.delete(f"{KEYS}/{first['id']}")
    assert alice.post(KEYS, json={"name": "third"}).status_code == 201


def test_creating_keys_is_rate_limited(signup, make_key, monkeypatch, settings):
    monkeypatch.setattr(settings, "rate_hub_key_create", "2/hour")
    alice = signup()
    make_key(alice)
    make_key(alice)
    r = alice.post(KEYS, json={"name": "third"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_key_management_needs_a_user_session_not_a_key(signup, make_key):
    alice = signup()
    key = make_key(alice)
    r = alice.get(KEYS, headers=bearer(key["secret"]))
    assert r.status_code == 401
