"""Holds and captures whose account UPDATEs go with the COMMIT (kit.db.at_commit), as AI calls make them."""

from __future__ import annotations

import asyncio

import pytest

from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import CREDITS, Leg
from smile.billing.ledger.verify import verify
from smile.kit.db import at_commit, commit


async def _fund(database, user_id, amount):
    async with database.session() as db:
        wallet = await ledger.wallet(db, user_id)
        promo = await ledger.platform(db, ledger.PROMOTIONS, CREDITS)
        await ledger.post(db, "grant", [Leg(promo, -amount), Leg(wallet, amount)], key=f"fund:{user_id}")
        revenue = await ledger.platform(db, ledger.REVENUE, CREDITS)
        return wallet, revenue


def test_fifty_parallel_holds_at_commit_on_a_wallet_that_affords_ten_then_captures(make_user, ledger_db):
    user = make_user()

    async def scenario(database):
        wallet, revenue = await _fund(database, user, 100)

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
    assert balance.held == 0 and balance.balance == 100 - sum(3 + i % 5 for i, o in enumerate(outcomes)
                                                              if isinstance(o, int))
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
            holds = await db.scalar(ledger.select(ledger.func.count()).select_from(ledger.LedgerHold)
                                    .where(ledger.LedgerHold.account_id == wallet))
            return queued.row, why, holds, await ledger.balance(db, wallet)

    row, why, holds, balance = ledger_db(scenario)
    assert row is None and isinstance(why, ledger.InsufficientFunds)
    assert holds == 0 and balance.held == 0 and balance.balance == 5


def test_statements_queued_for_the_commit_are_never_lost_silently(make_user, ledger_db):
    user = make_user()

    async def scenario(database):
        wallet, revenue = await _fund(database, user, 50)
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
            with pytest.raises(Exception, match="not_overdrawn"):
                await ledger.capture(db, hold_id, 20, revenue, kind="spend", last=True)
                await commit(db)
        async with database.session() as db:
            return queued.row, await ledger.balance(db, wallet), await verify(db)

    row, balance, violations = ledger_db(scenario)
    assert row is not None and balance.balance == 50 and balance.held == 20  # only the good hold stood
    assert violations == []
