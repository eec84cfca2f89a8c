"""The usage log, daily aggregates and CSV read with an API key (`usage` scope) instead of a session."""

from __future__ import annotations

import csv
import io
import uuid

from smile.kit import runtime
from tests.ai_fixtures import fund
from tests.hub.conftest import bearer

USAGE = "/api/v1/hub/usage"
ASK = [{"role": "user", "content": "Say hello please"}]


def chat(anon, secret: str) -> str:
    r = anon.post(
        "/v1/chat/completions", headers=bearer(secret), json={"model": "offline", "messages": ASK, "max_tokens": 10}
    )
    assert r.status_code == 200, r.text
    return r.json()["smile"]["request_id"]


def test_a_usage_key_reads_its_owners_usage_like_the_session_does(signup, make_key, make_client, server):
    alice, bob, anon = signup(), signup(), make_client()
    for api in (alice, bob):
        server.call(fund(runtime.current().db, uuid.UUID(api.user["id"]), 10_000))
    chatter = make_key(alice, name="chat", scopes=["chat"])
    reader = make_key(alice, name="reader", scopes=["usage"])
    first, second = chat(anon, chatter["secret"]), chat(anon, chatter["secret"])
    chat(anon, make_key(bob, scopes=["chat"])["secret"])  # someone else's usage

    by_key = anon.get(USAGE, headers=bearer(reader["secret"]))
    assert by_key.status_code == 200, by_key.text
    assert [row["id"] for row in by_key.json()["items"]] == [second, first]
    assert by_key.json() == alice.get(USAGE).json()  # the session (access token) path is unchanged
    page = anon.get(USAGE, params={"limit": 1, "key_id": chatter["id"]}, headers=bearer(reader["secret"])).json()
    assert [row["id"] for row in page["items"]] == [second] and page["next_cursor"]

    [day] = anon.get(f"{USAGE}/daily", headers=bearer(reader["secret"])).json()
    assert (day["model"], day["requests"]) == ("offline", 2) and day == alice.get(f"{USAGE}/daily").json()[0]

    exported = anon.get(f"{USAGE}.csv", headers=bearer(reader["secret"]))
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert [row["id"] for row in csv.DictReader(io.StringIO(exported.text))] == [second, first]
    assert anon.get(f"{USAGE}", params={"status": "weird"}, headers=bearer(reader["secret"])).status_code == 422


def test_a_key_without_the_usage_scope_is_refused_and_a_bad_key_is_unauthorized(signup, make_key, make_client):
    alice, anon = signup(), make_client()
    chatter = make_key(alice, scopes=["chat", "models"])
    for path in (USAGE, f"{USAGE}/daily", f"{USAGE}.csv"):
        r = anon.get(path, headers=bearer(chatter["secret"]))
        assert r.status_code == 403 and r.json()["error"] == "missing_scope", r.text
        assert "'usage' scope" in r.json()["detail"]

    unknown = "sk-smile-" + "A" * 43
    for secret, code in ((unknown, "invalid_api_key"), ("sk-smile-short", "invalid_api_key")):
        r = anon.get(USAGE, headers=bearer(secret))
        assert (r.status_code, r.json()["error"]) == (401, code), r.text
        assert r.headers["www-authenticate"] == "Bearer"

    revoked = make_key(alice, scopes=["usage"])
    assert anon.get(USAGE, headers=bearer(revoked["secret"])).status_code == 200
    assert alice.delete(f"/api/v1/hub/keys/{revoked['id']}").status_code == 200
    r = anon.get(USAGE, headers=bearer(revoked["secret"]))
    assert (r.status_code, r.json()["error"]) == (401, "api_key_revoked")
    assert anon.get(USAGE).status_code == 401  # no credentials at all
    assert anon.get(USAGE, headers=bearer("not-a-token")).status_code == 401  # neither a key nor a token
