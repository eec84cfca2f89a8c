"""The ledger core on real PostgreSQL: zero-sum postings, idempotency, no overdraft under concurrency, holds
(also holds and captures sent with the COMMIT)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import CREDITS, Leg
from smile.billing.ledger.verify import verify
from smile.kit.db import at_commit, commit
from smile.kit.errors import Conflict


async def _fund(database, user_id, amount):
    async with database.session() as db:
        wallet = await ledger.wallet(db, user_id)
        promo = await ledger.platform(db, ledger.PROMOTIONS, CREDITS)
        await ledger.post(db, "grant", [Leg(promo, -amount), Leg(wallet, amount)], key=f"fund:{user_id}:{amount}")
        return wallet, promo


def test_two_hundred_parallel_spends_against_a_wallet_that_affords_one_hundred(make_user, ledger_db):
    user = make_user()

    async def scenario(database):
        wallet, _ = await _fund(database, user, 100)
        async with database.session() as db:
            revenue = await ledger.platform(db, ledger.REVENUE, CREDITS)

        async def spend(i):
            try:
                async with database.session() as db:
                    await ledger.post(db, "spend", [Leg(wallet, -1), Leg(revenue, 1)], key=f"spend:{i}")
                return True
            except ledger.InsufficientFunds:
                return False

        results = await asyncio.gather(*(spend(i) for i in range(200)))
        async with database.session() as db:
            return results, await ledger.balance(db, wallet), await verify(db)

    results, balance, violations = ledger_db(scenario)
    assert results.count(True) == 100 and results.count(False) == 100
    assert balance.balance == 0 and balance.held == 0
    assert violations == []


def test_a_replayed_key_moves_nothing_and_returns_the_first_transaction(make_user, ledger_db):
    user = make_user()

    async def scenario(database):
        wallet, promo = await _fund(database, user, 50)
        async with database.session() as db:
            again = await ledger.post(db, "grant", [Leg(promo, -50), Leg(wallet, 50)], key=f"fund:{user}:50")
            return again, await ledger.balance(db, wallet)

    again, balance = ledger_db(scenario)
    assert again.replayed is True and balance.balance == 50


def test_unbalanced_and_mixed_currency_postings_are_refused(make_user, ledger_db):
    user = make_user()

    async def scenario(database):
        wallet, promo = await _fund(database, user, 10)
        async with database.session() as db:
            usd = await ledger.platform(db, ledger.CLEARING, "USD")
            with pytest.raises(ValueError, match="sum to zero"):
                await ledger.post(db, "bad", [Leg(promo, -5), Leg(wallet, 4), Leg(usd, 1)], key="bad")
            # the savepoint rolled back: the session still works and nothing moved
            return await ledger.balance(db, wallet), await verify(db)

    balance, violations = ledger_db(scenario)
    assert balance.balance == 10 and violations == []


def test_entries_cannot_be_edited_or_deleted(make_user, ledger_db, dsn):
    user = make_user()
    ledger_db(lambda database: _fund(database, user, 5))
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in ("UPDATE ledger_entries SET amount = amount * 2", "DELETE FROM ledger_transactions"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(sql)


def test_parallel_capture_and_release_of_one_hold_exactly_one_wins(make_user, ledger_db):
    user = make_user()

    async def scenario(database):
        wallet, _ = await _fund(database, user, 100)
        async with database.session() as db:
            revenue = await ledger.platform(db, ledger.REVENUE, CREDITS)
            hold = await ledger.hold(db, wallet, 60, key="h1")
        async with database.session() as db:
            during = await ledger.balance(db, wallet)

        async def capture():
            try:
                async with database.session() as db:
                    await ledger.capture(db, hold, 40, revenue, kind="spend")
                return "captured"
            except Conflict:
                return "lost"

        async def release():
            async with database.session() as db:
                return "released" if await ledger.release(db, hold) else "lost"

        outcomes = await asyncio.gather(*[capture() if i % 2 else release() for i in range(20)])
        async with database.session() as db:
            return during, outcomes, await ledger.balance(db, wallet), await verify(db)

    during, outcomes, after, violations = ledger_db(scenario)
    assert during.available == 40 and during.held == 60
    winners = [o for o in outcomes if o != "lost"]
    assert len(winners) == 1
    assert after.held == 0 and after.balance == (60 if winners == ["captured"] else 100)
    assert violations == []


def test_a_hold_larger_than_the_available_balance_is_refused(make_user, ledger_db):
    user = make_user()

    async def scenario(database):
        wallet, _ = await _fund(database, user, 30)
        async with database.session() as db:
            await ledger.hold(db, wallet, 20, key="a")
            with pytest.raises(ledger.InsufficientFunds):
                await ledger.hold(db, wallet, 11, key="b")
            return await ledger.balance(db, wallet)

    assert ledger_db(scenario).available == 10


def test_expired_holds_are_released(make_user, ledger_db):
    import datetime as dt

    user = make_user()

    async def scenario(database):
        wallet, _ = await _fund(database, user, 30)
        async with database.session() as db:
            past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
            await ledger.hold(db, wallet, 20, key="old", expires_at=past)
            await ledger.hold(db, wallet, 5, key="new")
        async with database.session() as db:
            count = await ledger.expire_holds(db)
        async with database.session() as db:
            return count, await ledger.balance(db, wallet), await verify(db)

    count, balance, violations = ledger_db(scenario)
    assert count == 1 and balance.held == 5 and violations == []


def test_reversal_restores_balances_once(make_user, ledger_db):
    user = make_user()

    async def scenario(database):
        wallet, _ = await _fund(database, user, 10)
        async with database.session() as db:
            revenue = await ledger.platform(db, ledger.REVENUE, CREDITS)
            spent = await ledger.post(db, "spend", [Leg(wallet, -7), Leg(revenue, 7)], key="s")
        async with database.session() as db:
            first = await ledger.reverse(db, spent.transaction_id)
            second = await ledger.reverse(db, spent.transaction_id)
            return first, second, await ledger.balance(db, wallet), await verify(db)

    first, second, balance, violations = ledger_db(scenario)
    assert not first.replayed and second.replayed and balance.balance == 10 and violations == []


def test_frozen_accounts_refuse_outgoing_money(make_user, ledger_db):
    user = make_user()

    async def scenario(database):
        wallet, promo = await _fund(database, user, 10)
        async with database.session() as db:
            await ledger.freeze(db, user)
        async with database.session() as db:
            revenue = await ledger.platform(db, ledger.REVENUE, CREDITS)
            with pytest.raises(ledger.AccountFrozen):
                await ledger.post(db, "spend", [Leg(wallet, -1), Leg(revenue, 1)], key="f1")
            await ledger.post(db, "grant", [Leg(promo, -1), Leg(wallet, 1)], key="f2")  # incoming still works
            await ledger.unfreeze(db, user)
            await ledger.post(db, "spend", [Leg(wallet, -1), Leg(revenue, 1)], key="f3")
            return await ledger.balance(db, wallet)

    assert ledger_db(scenario).balance == 10


def test_verify_names_a_violation(make_user, ledger_db, dsn):
    user = make_user()
    ledger_db(lambda database: _fund(database, user, 5))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE ledger_accounts SET balance = balance + 1 WHERE owner_id = %s", (user,))

    async def check(database):
        async with database.session() as db:
            return await verify(db)

    violations = ledger_db(check)
    assert [v.check for v in violations] == ["cached_balance"]
    assert "cached 6, entries sum to 5" in violations[0].detail


# ---- holds and captures whose account UPDATEs go with the COMMIT (kit.db.at_commit), as AI calls make them ----


async def _fund_with_revenue(database, user_id, amount):
    wallet, _ = await _fund(database, user_id, amount)
    async with database.session() as db:
        return wallet, await ledger.platform(db, ledger.REVENUE, CREDITS)


def test_fifty_parallel_holds_at_commit_on_a_wallet_that_affords_ten_then_captures(make_user, ledger_db):
    user = make_user()

    async def scenario(database):
        wallet, revenue = await _fund_with_revenue(database, user, 100)

        async def reserve_and_spend(i):
            async with database.session() as db:
                hold_id, queued = ledger.hold_at_commit(db, wallet, 10, key=f"h:{i}")
                await commit(db)
            if queued.row is None:
                async with database.session() as db:
                    return await ledger.refusal(db, wallet)
            async with database.session() as db:
                posted = await ledger.capture(db, hold_id, 3 + i % 5, revenue, kind="spend", last=True)
                await commit(db)
            return posted.last[wallet].row[0]  # the wallet's balance - held right after this capture

        outcomes = await asyncio.gather(*(reserve_and_spend(i) for i in range(50)))
        async with database.session() as db:
            return outcomes, await ledger.balance(db, wallet), await verify(db)

    outcomes, balance, violations = ledger_db(scenario)
    spent = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, ledger.InsufficientFunds)]
    # each success costs at least 3 of the 100 credits (so 17 or more are refused) and no refusal comes
    # while fewer than ten holds succeeded (10 credits are still free until then)
    assert len(spent) + len(refused) == 50 and len(spent) >= 10 and len(refused) >= 17
    assert balance.held == 0 and balance.balance == 100 - sum(
        3 + i % 5 for i, o in enumerate(outcomes) if isinstance(o, int)
    )
    assert balance.balance in spent and min(spent) >= 0  # the last capture saw the final balance
    assert violations == []


def test_a_refused_hold_at_commit_writes_nothing_and_says_why(make_user, ledger_db):
    user = make_user()

    async def scenario(database):
        wallet, _ = await _fund(database, user, 5)
        async with database.session() as db:
            _, queued = ledger.hold_at_commit(db, wallet, 6, key="too-much")
            await commit(db)
        async with database.session() as db:
            why = await ledger.refusal(db, wallet)
            holds = await db.scalar(
                ledger.select(ledger.func.count())
                .select_from(ledger.LedgerHold)
                .where(ledger.LedgerHold.account_id == wallet)
            )
            return queued.row, why, holds, await ledger.balance(db, wallet)

    row, why, holds, balance = ledger_db(scenario)
    assert row is None and isinstance(why, ledger.InsufficientFunds)
    assert holds == 0 and balance.held == 0 and balance.balance == 5


def test_statements_queued_for_the_commit_are_never_lost_silently(make_user, ledger_db):
    user = make_user()

    async def scenario(database):
        wallet, revenue = await _fund_with_revenue(database, user, 50)
        with pytest.raises(RuntimeError, match="at_commit"):  # a plain commit with statements queued refuses
            async with database.session() as db:
                at_commit(db, "UPDATE ledger_accounts SET held = held + 1 WHERE id = %s", (wallet,))
        async with database.session() as db:  # a rollback drops the queue with the transaction
            await ledger.balance(db, wallet)
            at_commit(db, "UPDATE ledger_accounts SET held = held + 1 WHERE id = %s", (wallet,))
            await db.rollback()
        async with database.session() as db:
            hold_id, queued = ledger.hold_at_commit(db, wallet, 20, key="fine")
            await commit(db)
        async with database.session() as db:  # a statement that fails aborts everything sent with it
            at_commit(db, "UPDATE ledger_accounts SET held = held + 1000 WHERE id = %s", (wallet,))
            with pytest.raises(psycopg.errors.CheckViolation, match="not_overdrawn"):
                await ledger.capture(db, hold_id, 20, revenue, kind="spend", last=True)
                await commit(db)
        async with database.session() as db:
            return queued.row, await ledger.balance(db, wallet), await verify(db)

    row, balance, violations = ledger_db(scenario)
    assert row is not None and balance.balance == 50 and balance.held == 20  # only the good hold stood
    assert violations == []
