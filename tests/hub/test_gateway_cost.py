"""What one gateway call costs the database: statements and transactions, counted at the psycopg driver.

Every statement smile sends (ORM or plain SQL, pipelined or not) goes through psycopg's AsyncCursor.execute,
and every transaction ends in AsyncConnection.commit or .rollback (counted when one is open); the counters keep
only those made while serving the request with our X-Request-ID (tasks it starts inherit the id). The gateway is the
hot path of docs/architecture.md: a change that adds a statement or a transaction to it must show up here.
"""

from __future__ import annotations

import collections
import uuid

import psycopg
import pytest
import structlog

from tests.hub.test_gateway import ASK, account  # noqa: F401 - the account fixture

# (statements, transactions) of one warm call: the key lookup, the reservation, the settlement
# (see docs/hub.md, "What a call costs the server").
PLAIN = (16, 3)  # a key with no credit limit
LIMITED = (18, 4)  # a key with a credit limit: the worst case is charged to the key first


@pytest.fixture
def count(monkeypatch):
    counts: collections.Counter = collections.Counter()
    tag = {"id": ""}

    def ours() -> bool:
        return structlog.contextvars.get_contextvars().get("request_id") == tag["id"]

    execute, commit, rollback = (
        psycopg.AsyncCursor.execute,
        psycopg.AsyncConnection.commit,
        psycopg.AsyncConnection.rollback,
    )

    async def counted_execute(self, *args, **kwargs):
        counts["statements"] += ours()
        return await execute(self, *args, **kwargs)

    def open(connection) -> bool:  # SQLAlchemy also calls commit/rollback on idle connections: nothing is sent
        return connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    async def counted_commit(self):
        counts["transactions"] += ours() and open(self)
        return await commit(self)

    async def counted_rollback(self):
        counts["transactions"] += ours() and open(self)
        return await rollback(self)

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", counted_execute)
    monkeypatch.setattr(psycopg.AsyncConnection, "commit", counted_commit)
    monkeypatch.setattr(psycopg.AsyncConnection, "rollback", counted_rollback)

    def run(call) -> tuple[int, int]:
        counts.clear()
        tag["id"] = f"cost-{uuid.uuid4().hex}"
        call({"X-Request-ID": tag["id"]})
        return counts["statements"], counts["transactions"]

    return run


@pytest.mark.parametrize("limit, expected", [(None, PLAIN), (1_000, LIMITED)])
@pytest.mark.parametrize("stream", [False, True])
def test_one_gateway_call_costs_what_it_did(account, count, limit, expected, stream):  # noqa: F811
    _, _, sdk = account(**({"credit_limit": limit} if limit else {}))

    def call(headers):
        if stream:
            chunks = sdk.chat.completions.create(
                model="offline", messages=ASK, max_tokens=20, stream=True, extra_headers=headers
            )
            assert [c for c in chunks]
        else:
            assert sdk.chat.completions.create(
                model="offline", messages=ASK, max_tokens=20, extra_headers=headers
            ).choices

    call({})  # the first use records the key's last use and seeds the catalog: not the steady state
    assert count(call) == expected


def test_recording_the_keys_last_use_adds_no_transaction(account, count, db):  # noqa: F811
    _, key, sdk = account()

    def call(headers):
        assert sdk.chat.completions.create(model="offline", messages=ASK, max_tokens=20, extra_headers=headers)

    call({})
    db.execute("UPDATE hub_api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = %s", (key["id"],))
    statements, transactions = count(call)  # the touch: SAVEPOINT, its UPDATE, RELEASE, in the key lookup's
    assert (statements, transactions) == (PLAIN[0] + 3, PLAIN[1])
    assert db.execute(
        "SELECT last_used_at > now() - interval '1 minute' FROM hub_api_keys WHERE id = %s", (key["id"],)
    ).fetchone()[0]
