"""Rate limits (requests and tokens per minute, per key and per user) and the key credit limit."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from smile.hub import service
from smile.kit.db import Database
from smile.kit.errors import NotFound
from tests.hub.conftest import bearer


def refused(r, kind: str, who: str) -> None:
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) >= 1
    error = r.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (kind, "rate_limit_exceeded", None)
    assert f"this {who}" in error["message"] and "try again in" in error["message"]


def test_requests_per_minute_per_key(signup, make_key, client, probe):
    alice = signup()
    key, other = make_key(alice, rpm_limit=3), make_key(alice)
    for _ in range(3):
        assert client.post(probe, json={"model": "m"}, headers=bearer(key["secret"])).status_code == 200
    refused(client.post(probe, json={"model": "m"}, headers=bearer(key["secret"])), "requests", "key")
    refused(client.post(probe, json={"model": "m"}, headers=bearer(key["secret"])), "requests", "key")
    assert client.post(probe, json={"model": "m"}, headers=bearer(other["secret"])).status_code == 200


def test_requests_per_minute_per_user(signup, make_key, client, probe, monkeypatch, settings):
    monkeypatch.setattr(settings, "hub_user_rpm", 4)
    alice, bob = signup(), signup()
    first, second = make_key(alice), make_key(alice)
    for key in (first, second, first, second):
        assert client.post(probe, json={"model": "m"}, headers=bearer(key["secret"])).status_code == 200
    refused(client.post(probe, json={"model": "m"}, headers=bearer(second["secret"])), "requests", "user")
    assert client.post(probe, json={"model": "m"}, headers=bearer(make_key(bob)["secret"])).status_code == 200


def test_tokens_per_minute(signup, make_key, client, probe, monkeypatch, settings):
    monkeypatch.setattr(settings, "hub_user_tpm", 1500)
    alice = signup()
    key, other = make_key(alice, tpm_limit=1000), make_key(alice)
    assert client.post(probe, json={"model": "m", "tokens": 600}, headers=bearer(key["secret"])).status_code == 200
    refused(client.post(probe, json={"model": "m", "tokens": 600}, headers=bearer(key["secret"])), "tokens", "key")
    # The refused request counted nothing: 400 more still fit this minute.
    assert client.post(probe, json={"model": "m", "tokens": 400}, headers=bearer(key["secret"])).status_code == 200
    # The user's budget: 1000 used by the first key, so 600 on another key passes the key limit but not the user's.
    refused(client.post(probe, json={"model": "m", "tokens": 600}, headers=bearer(other["secret"])), "tokens", "user")
    assert client.post(probe, json={"model": "m", "tokens": 500}, headers=bearer(other["secret"])).status_code == 200


def test_a_request_larger_than_the_limit_says_so(signup, make_key, client, probe):
    key = make_key(signup(), tpm_limit=100)
    r = client.post(probe, json={"model": "m", "tokens": 101}, headers=bearer(key["secret"]))
    assert r.status_code == 429 and r.json()["error"]["type"] == "tokens"
    assert r.json()["error"]["message"].startswith("Request too large")


@pytest.fixture
def run_db(database_url):
    """Run `fn(database)` in a fresh event loop on a private engine."""

    def run(fn):
        async def main():
            database = Database(database_url, pool_size=30)
            try:
                return await fn(database)
            finally:
                await database.dispose()

        return asyncio.run(main())

    return run


def test_credit_limit_holds_under_parallel_charges(signup, make_key, run_db, db):
    key = make_key(signup(), credit_limit=100)
    key_id = uuid.UUID(key["id"])

    async def charge(database):
        async def one():
            async with database.session() as session:
                return await service.charge_key(session, key_id, 10)

        return await asyncio.gather(*(one() for _ in range(25)), return_exceptions=True)

    results = run_db(charge)
    done = [r for r in results if isinstance(r, int)]
    refusals = [r for r in results if isinstance(r, service.CreditLimitReached)]
    assert len(done) == 10 and len(refusals) == 15 and sorted(done) == list(range(10, 101, 10))
    assert refusals[0].status == 402 and "0 of its 100 credits left" in refusals[0].message
    assert db.execute("SELECT spent_credits FROM hub_api_keys WHERE id = %s", (key_id,)).fetchone()[0] == 100


def test_charge_and_release(signup, make_key, run_db):
    key_id = uuid.UUID(make_key(signup(), credit_limit=50)["id"])

    async def flow(database):
        async with database.session() as session:
            assert await service.charge_key(session, key_id, 50) == 50
            assert await service.release_key(session, key_id, 20) == 30
            assert await service.charge_key(session, key_id, 20) == 50
            with pytest.raises(service.CreditLimitReached):
                await service.charge_key(session, key_id, 1)
            with pytest.raises(ValueError):
                await service.release_key(session, key_id, 51)
            with pytest.raises(ValueError):
                await service.charge_key(session, key_id, -1)
            with pytest.raises(NotFound):
                await service.charge_key(session, uuid.uuid4(), 1)
        return True

    assert run_db(flow)


def test_unlimited_key_records_spend(signup, make_key, run_db):
    alice = signup()
    key = make_key(alice)
    key_id = uuid.UUID(key["id"])

    async def charge(database):
        async with database.session() as session:
            return await service.charge_key(session, key_id, 10**9)

    assert run_db(charge) == 10**9
    assert alice.get(f"/api/v1/hub/keys/{key['id']}").json()["spent_credits"] == 10**9
