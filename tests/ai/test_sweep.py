"""The ai.sweep_pending job: usage rows a dead process left `pending` are abandoned once, charged nothing,
and their holds released; a settle racing the sweep wins or loses whole.

Each row comes from the real reservation (`_Call.prepare`) and is left as a process that died mid-call
leaves it. The job runs with a schedule time in the future instead of rows dated in the past, so the
in-process worker's own sweeps (on the real clock) never touch these rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from contextlib import asynccontextmanager

from smile.ai import service, tasks
from smile.ai.types import ChatRequest, Message, Usage
from smile.billing.ledger import service as ledger
from smile.billing.ledger.verify import verify
from tests.ai_fixtures import fund

ASK = [Message("user", "Say hello please")]


async def begin(database, user: uuid.UUID, settings) -> service._Call:
    """A call reserved and written `pending`, whose process then 'dies' (it is never settled here)."""
    call = service._Call(
        database.session, user, ChatRequest("offline", ASK, max_tokens=50), None, settings, stream=False
    )
    await call.prepare()
    return call


async def wallet(database, user: uuid.UUID) -> tuple[ledger.Balance, list]:
    async with database.session() as db:
        return await ledger.balance(db, await ledger.wallet(db, user)), await verify(db)


def sweep(server, minutes_from_now: float) -> int:
    """Run the job as procrastinate would, scheduled `minutes_from_now`."""
    at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes_from_now)
    return server.call(tasks.sweep_pending(timestamp=int(at.timestamp())))


def usage(db, request_id):
    return db.execute("SELECT status, credits, error, settled_at FROM ai_usage WHERE id = %s", (request_id,)).fetchone()


def hold(db, hold_id) -> str:
    return db.execute("SELECT status FROM ledger_holds WHERE id = %s", (hold_id,)).fetchone()[0]


def test_rows_pending_past_their_hold_are_abandoned_once_and_charged_nothing(ai_settings, make_user, run, server, db):
    user = make_user()
    late = ai_settings.ai_hold_minutes + 5  # the job's cutoff: hold lifetime + GRACE

    async def start(database):
        await fund(database, user, 10_000)
        calls = [await begin(database, user, ai_settings) for _ in range(3)]
        return calls, await wallet(database, user)

    (old, expired, fresh), (before, _) = run(start)
    assert before.held == old.reserved + expired.reserved + fresh.reserved > 0
    db.execute(
        "UPDATE ai_usage SET created_at = created_at - interval '30 minutes' WHERE id = ANY(%s)",
        ([old.id, expired.id],),
    )
    run(lambda database: _expire(database, expired.hold_id))  # ledger.expire_holds got to this hold first

    assert sweep(server, late - 31) == 0  # nothing is pending past the cutoff yet
    assert {usage(db, c.id)[0] for c in (old, expired, fresh)} == {"pending"}

    assert sweep(server, late - 29) == 2  # old and expired are now past the cutoff, fresh is not
    for call in (old, expired):
        status, credits, error, settled_at = usage(db, call.id)
        assert (status, credits) == ("abandoned", 0) and settled_at is not None
        assert "stopped before" in error and "nothing was charged" in error
    assert (hold(db, old.hold_id), hold(db, expired.hold_id)) == ("released", "expired")
    assert usage(db, fresh.id)[0] == "pending" and hold(db, fresh.hold_id) == "open"
    after, problems = run(lambda database: wallet(database, user))
    assert (after.balance, after.held) == (10_000, fresh.reserved) and problems == []

    rows = db.execute("SELECT * FROM ai_usage ORDER BY id").fetchall()
    assert sweep(server, late - 29) == 0  # a second run changes nothing
    assert db.execute("SELECT * FROM ai_usage ORDER BY id").fetchall() == rows
    assert run(lambda database: wallet(database, user)) == (after, [])


async def _expire(database, hold_id):
    async with database.session() as db:
        assert await ledger.release(db, hold_id, status="expired")


def test_a_settle_that_claimed_the_row_first_wins_and_the_sweep_skips_it(ai_settings, make_user, run, server, db):
    user = make_user()
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)

    async def go(database):
        await fund(database, user, 10_000)
        call = await begin(database, user, ai_settings)
        claimed, finish = asyncio.Event(), asyncio.Event()

        @asynccontextmanager
        async def held_open():  # settle's own session, kept open after its claim until the sweep has run
            async with database.session() as session:
                yield session
                claimed.set()
                await finish.wait()

        call.db_factory = held_open
        settling = asyncio.create_task(call.settle("ok", Usage(20, 10), call.router.chain[0]))
        await asyncio.wait_for(claimed.wait(), 10)
        async with database.session() as session:
            swept = await tasks.abandon_stale(session, soon)
        finish.set()
        return call, swept, await settling, await wallet(database, user)

    call, swept, charged, (after, problems) = run(go)
    assert swept == 0 and charged > 0
    assert usage(db, call.id)[:2] == ("ok", charged) and hold(db, call.hold_id) == "captured"
    assert (after.balance, after.held) == (10_000 - charged, 0) and problems == []
    assert sweep(server, ai_settings.ai_hold_minutes + 10) == 0
    assert usage(db, call.id)[:2] == ("ok", charged)


def test_a_settle_after_the_sweep_claimed_the_row_charges_nothing(ai_settings, make_user, run, db):
    user = make_user()
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)

    async def go(database):
        await fund(database, user, 10_000)
        call = await begin(database, user, ai_settings)
        async with database.session() as session:
            swept = await tasks.abandon_stale(session, soon)
            settling = asyncio.create_task(call.settle("ok", Usage(20, 10), call.router.chain[0]))
            await asyncio.sleep(0.3)
            blocked = not settling.done()  # waiting on the sweep's row lock
        return call, swept, blocked, await settling, await wallet(database, user)

    call, swept, blocked, charged, (after, problems) = run(go)
    assert swept == 1 and blocked and charged == 0
    assert usage(db, call.id)[:2] == ("abandoned", 0) and hold(db, call.hold_id) == "released"
    assert (after.balance, after.held) == (10_000, 0) and problems == []
