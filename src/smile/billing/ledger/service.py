"""Posting transactions, balances and holds: the only code that writes ledger rows.

Every movement is one transaction of entries that sum to zero per currency. Cached balances
change by conditional UPDATEs in the same database transaction, so a wallet cannot be
overdrawn even under concurrency (the CHECK constraint on ledger_accounts backs this up).
A refused post() or hold() leaves the caller's transaction usable (post runs in a savepoint; hold and
capture refuse before they change anything).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from psycopg.types.json import Jsonb
from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.ledger.models import (
    CREDITS,
    LedgerAccount,
    LedgerEntry,
    LedgerHold,
    LedgerTransaction,
)
from smile.billing.ledger.statements import Line, statement
from smile.kit.db import Last, at_commit, driver, fetch_one, utcnow
from smile.kit.errors import AppError, Conflict, Invalid, NotFound
from smile.kit.ids import new_id

__all__ = [
    "Line",
    "statement",
    "CREDITS",
    "AccountFrozen",
    "Balance",
    "InsufficientFunds",
    "Leg",
    "Posted",
    "account",
    "balance",
    "capture",
    "expire_holds",
    "freeze",
    "hold",
    "hold_at_commit",
    "post",
    "refusal",
    "release",
    "reverse",
    "unfreeze",
]

# Purposes of a user's accounts
WALLET = "wallet"  # credits (CRD) a user spends
EARNINGS = "earnings"  # a seller's money available for payout
ESCROW = "escrow"  # a seller's money held until the sale's escrow period ends
# Purposes of the platform's accounts (owner_id NULL)
REVENUE = "revenue"  # platform income (sales of credits and plans, spent credits)
FEES = "fees"  # the platform's share of sellers' sales
CLEARING = "clearing"  # money the payment processor collected or paid out for us
PROMOTIONS = "promotions"  # credits given away (promo codes, grants)
ISSUANCE = "issuance"  # credits sold: the counterpart of credits in wallets
ADJUSTMENTS = "adjustments"  # admin corrections
REFUNDS = "refunds"  # money returned to buyers
PAYOUTS = "payouts"  # money on its way to sellers (payouts requested, not yet settled)


class InsufficientFunds(AppError):
    status = 402
    code = "insufficient_funds"

    def __init__(self, message: str = "The balance is too low for this.", **kw) -> None:
        super().__init__(message, **kw)


class AccountFrozen(AppError):
    status = 403
    code = "account_frozen"

    def __init__(self, message: str = "Outgoing money on this account is frozen; contact support.", **kw) -> None:
        super().__init__(message, **kw)


@dataclass(frozen=True)
class Leg:
    account_id: uuid.UUID
    amount: int  # + credits the account, - debits it


@dataclass(frozen=True)
class Posted:
    transaction_id: uuid.UUID
    replayed: bool  # the idempotency key had been used: nothing moved this time
    available: dict[uuid.UUID, int] = field(default_factory=dict)  # balance - held of each account after it
    last: dict[uuid.UUID, Last] = field(default_factory=dict)  # instead, when the UPDATEs go with the COMMIT


@dataclass(frozen=True)
class Balance:
    balance: int
    held: int

    @property
    def available(self) -> int:
        return self.balance - self.held


_ACCOUNT_OF_OWNER = (
    "SELECT id FROM ledger_accounts WHERE owner_id = %(owner)s AND purpose = %(purpose)s AND currency = %(currency)s"
)
_ACCOUNT_OF_PLATFORM = (
    "SELECT id FROM ledger_accounts WHERE owner_id IS NULL AND purpose = %(purpose)s AND currency = %(currency)s"
)


async def account(db: AsyncSession, owner_id: uuid.UUID | None, purpose: str, currency: str) -> uuid.UUID:
    """The id of the owner's account for purpose and currency, created on first use.

    The platform's accounts (owner None) mirror the outside world and may go negative; users' never do.
    A new account of an owner whose money is frozen starts frozen too.
    """
    found = await fetch_one(
        db,
        _ACCOUNT_OF_PLATFORM if owner_id is None else _ACCOUNT_OF_OWNER,
        {"owner": owner_id, "purpose": purpose, "currency": currency},
    )
    if found:
        return found[0]
    where = and_(
        LedgerAccount.owner_id.is_(None) if owner_id is None else LedgerAccount.owner_id == owner_id,
        LedgerAccount.purpose == purpose,
        LedgerAccount.currency == currency,
    )
    frozen = (
        None
        if owner_id is None
        else (select(func.max(LedgerAccount.frozen_at)).where(LedgerAccount.owner_id == owner_id).scalar_subquery())
    )
    await db.execute(
        insert(LedgerAccount)
        .values(
            id=new_id(),
            owner_id=owner_id,
            purpose=purpose,
            currency=currency,
            allow_negative=owner_id is None,
            frozen_at=frozen,
        )
        .on_conflict_do_nothing()
    )
    return await db.scalar(select(LedgerAccount.id).where(where))


async def platform(db: AsyncSession, purpose: str, currency: str) -> uuid.UUID:
    return await account(db, None, purpose, currency)


async def wallet(db: AsyncSession, user_id: uuid.UUID) -> uuid.UUID:
    return await account(db, user_id, WALLET, CREDITS)


async def balance(db: AsyncSession, account_id: uuid.UUID) -> Balance:
    row = (
        await db.execute(select(LedgerAccount.balance, LedgerAccount.held).where(LedgerAccount.id == account_id))
    ).one()
    return Balance(balance=row.balance, held=row.held)


async def wallet_balance(db: AsyncSession, user_id: uuid.UUID) -> Balance:
    """A user's credit wallet in one query (zero when it has never been used)."""
    row = await fetch_one(
        db,
        "SELECT balance, held FROM ledger_accounts WHERE owner_id = %s AND purpose = %s AND currency = %s",
        (user_id, WALLET, CREDITS),
    )
    return Balance(balance=row[0], held=row[1]) if row else Balance(0, 0)


def _merge(legs: Iterable[Leg]) -> list[Leg]:
    totals: dict[uuid.UUID, int] = defaultdict(int)
    for leg in legs:
        if not isinstance(leg.amount, int) or isinstance(leg.amount, bool):
            raise TypeError("ledger amounts are integers in minor units")
        totals[leg.account_id] += leg.amount
    return [Leg(a, n) for a, n in sorted(totals.items()) if n]  # a fixed lock order avoids deadlocks


async def post(
    db: AsyncSession,
    kind: str,
    legs: Iterable[Leg],
    *,
    key: str,
    reference: tuple[str, object] | None = None,
    memo: str = "",
    data: dict | None = None,
    created_by: uuid.UUID | None = None,
    reverses_id: uuid.UUID | None = None,
    check_frozen: bool = True,
) -> Posted:
    """Post one transaction. Replaying `key` returns the first transaction and moves nothing.

    Debits are conditional: a non-negative account that cannot cover a debit raises
    InsufficientFunds (402); a frozen account raises AccountFrozen unless check_frozen is False
    (refund reversals and admin corrections move money regardless).
    """
    merged = _merge(legs)
    if len(merged) < 2:
        raise ValueError("a transaction needs at least two non-zero legs")
    async with db.begin_nested():
        return await _write(
            db,
            new_id(),
            kind,
            merged,
            key=key,
            reference=reference,
            memo=memo,
            data=data,
            created_by=created_by,
            reverses_id=reverses_id,
            check_frozen=check_frozen,
        )


_INSERT_TRANSACTION = (
    "INSERT INTO ledger_transactions (id, kind, idempotency_key, reference_type, reference_id, memo, metadata, "
    "created_by, reverses_id) VALUES (%(id)s, %(kind)s, %(key)s, %(ref_type)s, %(ref_id)s, %(memo)s, %(data)s, "
    "%(created_by)s, %(reverses_id)s) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
)
# The entries take their currency from their account; the rows returned are checked to sum to zero.
_INSERT_ENTRIES = (
    "INSERT INTO ledger_entries (id, transaction_id, account_id, amount, currency) SELECT v.id, v.tx, v.account, "
    "v.amount, a.currency FROM (VALUES {rows}) AS v (id, tx, account, amount) JOIN ledger_accounts a "
    "ON a.id = v.account RETURNING currency, amount"
)
_ENTRY = "(%s::uuid, %s::uuid, %s::uuid, %s::bigint)"
# One statement for every leg: a debit must be covered (unless the account may go negative) and, when
# asked, the account must not be frozen; `released` lowers the held amount in the same UPDATE (a capture).
_MOVE = (
    "UPDATE ledger_accounts SET balance = balance + %(amount)s, held = held - %(released)s "
    "WHERE id = %(account)s AND (%(amount)s >= 0 OR ((allow_negative OR balance - held + %(released)s "
    "+ %(amount)s >= 0) AND (NOT %(check_frozen)s OR frozen_at IS NULL))) RETURNING balance - held"
)
# A capture's legs cannot be refused (the debit is covered by the hold it releases); sent with the COMMIT,
# and the CHECK constraint not_overdrawn still stands behind them.
_MOVE_LAST = (
    "UPDATE ledger_accounts SET balance = balance + %(amount)s, held = held - %(released)s "
    "WHERE id = %(account)s RETURNING balance - held"
)


async def _write(
    db: AsyncSession,
    tx_id: uuid.UUID,
    kind: str,
    merged: list[Leg],
    *,
    key: str,
    reference: tuple[str, object] | None,
    memo: str,
    data: dict | None = None,
    created_by: uuid.UUID | None = None,
    reverses_id: uuid.UUID | None = None,
    check_frozen: bool = True,
    unhold: tuple[uuid.UUID, int] | None = None,
    last: bool = False,
) -> Posted:
    """The transaction row, the entries, then one UPDATE per account (in id order).

    `unhold` (account, amount) lowers that account's held amount in the same UPDATE (a capture).
    `last` queues the account UPDATEs to go with the COMMIT (kit.db.at_commit; only for legs that cannot
    be refused): Posted.last then has each account's queued UPDATE, whose row is its balance - held.
    A refusal can leave the transaction's rows written: callers that go on after one run this in a savepoint.
    Plain SQL through psycopg (kit.db.driver): every metered AI call runs this.
    """
    conn = await driver(db)
    ref_type, ref_id = (reference[0], str(reference[1])) if reference else (None, None)
    cursor = await conn.execute(
        _INSERT_TRANSACTION,
        {
            "id": tx_id,
            "kind": kind,
            "key": key,
            "ref_type": ref_type,
            "ref_id": ref_id,
            "memo": memo[:500],
            "data": Jsonb(data or {}),
            "created_by": created_by,
            "reverses_id": reverses_id,
        },
    )
    if await cursor.fetchone() is None:
        cursor = await conn.execute("SELECT id FROM ledger_transactions WHERE idempotency_key = %s", (key,))
        return Posted((await cursor.fetchone())[0], replayed=True)
    values = [v for leg in merged for v in (new_id(), tx_id, leg.account_id, leg.amount)]
    cursor = await conn.execute(_INSERT_ENTRIES.format(rows=", ".join([_ENTRY] * len(merged))), values)
    rows = await cursor.fetchall()
    if len(rows) < len(merged):
        raise NotFound("No such ledger account.")
    sums: dict[str, int] = defaultdict(int)
    for currency, amount in rows:
        sums[currency] += amount
    unbalanced = {c: s for c, s in sums.items() if s}
    if unbalanced:
        raise ValueError(f"entries do not sum to zero: {unbalanced}")
    available: dict[uuid.UUID, int] = {}
    queued: dict[uuid.UUID, Last] = {}
    for leg in merged:
        params = {
            "amount": leg.amount,
            "account": leg.account_id,
            "check_frozen": check_frozen,
            "released": unhold[1] if unhold is not None and unhold[0] == leg.account_id else 0,
        }
        if last:
            queued[leg.account_id] = at_commit(db, _MOVE_LAST, params)
            continue
        row = await (await conn.execute(_MOVE, params)).fetchone()
        if row is None:
            raise await refusal(db, leg.account_id)
        available[leg.account_id] = row[0]
    return Posted(tx_id, replayed=False, available=available, last=queued)


async def refusal(db: AsyncSession, account_id: uuid.UUID) -> AppError:
    """Why a debit or hold on the account was refused: the error to raise."""
    row = (await db.execute(select(LedgerAccount.frozen_at).where(LedgerAccount.id == account_id))).first()
    if row is None:
        return NotFound("No such ledger account.")
    return AccountFrozen() if row.frozen_at is not None else InsufficientFunds()


async def reverse(
    db: AsyncSession,
    transaction_id: uuid.UUID,
    *,
    memo: str = "",
    created_by: uuid.UUID | None = None,
    key: str | None = None,
) -> Posted:
    """A transaction that undoes another one exactly (corrections never edit entries)."""
    original = await db.get(LedgerTransaction, transaction_id)
    if original is None:
        raise NotFound("No such transaction.")
    if original.reverses_id is not None:
        raise Invalid("A reversal cannot itself be reversed; post a new transaction instead.")
    rows = (
        await db.execute(
            select(LedgerEntry.account_id, LedgerEntry.amount).where(LedgerEntry.transaction_id == transaction_id)
        )
    ).all()
    return await post(
        db,
        "reversal",
        [Leg(r.account_id, -r.amount) for r in rows],
        key=key or f"reverse:{transaction_id}",
        reference=("ledger_transaction", transaction_id),
        memo=memo or f"Reversal of {original.kind}",
        created_by=created_by,
        reverses_id=transaction_id,
        check_frozen=False,
    )


_RESERVE = (
    "UPDATE ledger_accounts SET held = held + %(amount)s WHERE id = %(account)s AND frozen_at IS NULL "
    "AND (allow_negative OR balance - held >= %(amount)s) RETURNING id"
)
_INSERT_HOLD = (
    "INSERT INTO ledger_holds (id, account_id, amount, idempotency_key, reference_type, reference_id, expires_at) "
    "VALUES (%(id)s, %(account)s, %(amount)s, %(key)s, %(ref_type)s, %(ref_id)s, %(expires_at)s) "
    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
)
_HOLD_BY_KEY = "SELECT id FROM ledger_holds WHERE idempotency_key = %s"


async def hold(
    db: AsyncSession,
    account_id: uuid.UUID,
    amount: int,
    *,
    key: str,
    expires_at: dt.datetime | None = None,
    minutes: int = 15,
    reference: tuple[str, object] | None = None,
) -> uuid.UUID:
    """Reserve `amount` on an account; replaying `key` returns the same hold.

    The conditional UPDATE comes first (a refusal changes nothing, so no savepoint is needed); a replay
    gives the amount straight back."""
    if amount <= 0:
        raise Invalid("A hold must be for a positive amount.", fields={"amount": "must be positive"})
    conn = await driver(db)
    reserved = await (await conn.execute(_RESERVE, {"amount": amount, "account": account_id})).fetchone()
    if reserved is None:
        if (replayed := await (await conn.execute(_HOLD_BY_KEY, (key,))).fetchone()) is not None:
            return replayed[0]
        raise await refusal(db, account_id)
    ref_type, ref_id = (reference[0], str(reference[1])) if reference else (None, None)
    row = await (
        await conn.execute(
            _INSERT_HOLD,
            {
                "id": new_id(),
                "account": account_id,
                "amount": amount,
                "key": key,
                "ref_type": ref_type,
                "ref_id": ref_id,
                "expires_at": expires_at or utcnow() + dt.timedelta(minutes=minutes),
            },
        )
    ).fetchone()
    if row is None:
        await conn.execute("UPDATE ledger_accounts SET held = held - %s WHERE id = %s", (amount, account_id))
        return (await (await conn.execute(_HOLD_BY_KEY, (key,))).fetchone())[0]
    return row[0]


# hold() in one statement, for at_commit: the hold row exists only if the reservation was made.
_HOLD_LAST = (
    "WITH reserved AS (UPDATE ledger_accounts SET held = held + %(amount)s WHERE id = %(account)s "
    "AND frozen_at IS NULL AND (allow_negative OR balance - held >= %(amount)s) RETURNING id) "
    "INSERT INTO ledger_holds (id, account_id, amount, idempotency_key, reference_type, reference_id, expires_at) "
    "SELECT %(id)s, id, %(amount)s, %(key)s, %(ref_type)s, %(ref_id)s, %(expires_at)s FROM reserved RETURNING id"
)


def hold_at_commit(
    db: AsyncSession,
    account_id: uuid.UUID,
    amount: int,
    *,
    key: str,
    minutes: int = 15,
    reference: tuple[str, object] | None = None,
) -> tuple[uuid.UUID, Last]:
    """hold(), queued to go with the COMMIT (kit.db.at_commit): returns the hold's id and the queued
    statement, whose row is None after the commit when the reservation was refused (see `refusal`).
    Not replayable: a key used before makes the commit fail."""
    if amount <= 0:
        raise Invalid("A hold must be for a positive amount.", fields={"amount": "must be positive"})
    hold_id = new_id()
    ref_type, ref_id = (reference[0], str(reference[1])) if reference else (None, None)
    return hold_id, at_commit(
        db,
        _HOLD_LAST,
        {
            "id": hold_id,
            "account": account_id,
            "amount": amount,
            "key": key,
            "ref_type": ref_type,
            "ref_id": ref_id,
            "expires_at": utcnow() + dt.timedelta(minutes=minutes),
        },
    )


async def capture(
    db: AsyncSession,
    hold_id: uuid.UUID,
    amount: int,
    to: Iterable[Leg] | uuid.UUID,
    *,
    kind: str,
    reference: tuple[str, object] | None = None,
    memo: str = "",
    data: dict | None = None,
    last: bool = False,
) -> Posted | None:
    """Take `amount` (0..hold amount) of an open hold and release the rest, exactly once.

    `to` is the account that receives everything, or legs (positive amounts summing to `amount`).
    Returns None when amount is 0 (a pure release). Raises Conflict when the hold is no longer open,
    before changing anything. The held account's release and debit are one UPDATE, and every account
    is updated in id order like post(), so captures and postings on the same accounts cannot deadlock.
    `last` sends the account UPDATEs with the COMMIT (see _write; the caller commits with kit.db.commit).
    """
    if amount < 0:
        raise Invalid("The captured amount cannot be negative.")
    conn = await driver(db)
    tx_id = new_id()
    row = await (
        await conn.execute(
            "UPDATE ledger_holds SET status = 'captured', captured = %(amount)s, settled_at = now(), "
            "transaction_id = %(tx)s WHERE id = %(hold)s AND status = 'open' AND amount >= %(amount)s "
            "RETURNING account_id, amount",
            {"amount": amount, "hold": hold_id, "tx": tx_id if amount else None},
        )
    ).fetchone()
    if row is None:
        await _hold_refusal(db, hold_id, amount)
    account_id, held = row
    if amount == 0:
        release_sql = "UPDATE ledger_accounts SET held = held - %s WHERE id = %s"
        if last:
            at_commit(db, release_sql, (held, account_id))
        else:
            await conn.execute(release_sql, (held, account_id))
        return None
    legs = [Leg(to, amount)] if isinstance(to, uuid.UUID) else list(to)
    if any(leg.account_id == account_id for leg in legs):
        raise ValueError("a hold cannot be captured into the account it holds")
    return await _write(
        db,
        tx_id,
        kind,
        _merge([Leg(account_id, -amount), *legs]),
        key=f"hold:{hold_id}:capture",
        reference=reference or ("hold", hold_id),
        memo=memo,
        data=data,
        check_frozen=False,
        unhold=(account_id, held),
        last=last,
    )


async def _hold_refusal(db: AsyncSession, hold_id: uuid.UUID, amount: int):
    found = (await db.execute(select(LedgerHold.status, LedgerHold.amount).where(LedgerHold.id == hold_id))).first()
    if found is None:
        raise NotFound("No such hold.")
    if found.status != "open":
        raise Conflict(f"The hold is already {found.status}.", code="hold_settled")
    raise Invalid(f"Cannot capture {amount}; the hold is for {found.amount}.", fields={"amount": "too large"})


async def release(db: AsyncSession, hold_id: uuid.UUID, status: str = "released") -> bool:
    """Release an open hold; False if it was already captured, released or expired."""
    async with db.begin_nested():
        row = (
            await db.execute(
                update(LedgerHold)
                .where(LedgerHold.id == hold_id, LedgerHold.status == "open")
                .values(status=status, settled_at=utcnow())
                .returning(LedgerHold.account_id, LedgerHold.amount)
            )
        ).first()
        if row is None:
            return False
        await db.execute(
            update(LedgerAccount).where(LedgerAccount.id == row.account_id).values(held=LedgerAccount.held - row.amount)
        )
    return True


async def expire_holds(db: AsyncSession, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Release open holds past their expiry (run by a periodic job)."""
    ids = list(
        await db.scalars(
            select(LedgerHold.id)
            .where(LedgerHold.status == "open", LedgerHold.expires_at <= (now or utcnow()))
            .order_by(LedgerHold.expires_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    )
    released = 0
    for hold_id in ids:
        released += await release(db, hold_id, status="expired")
    return released


async def freeze(db: AsyncSession, owner_id: uuid.UUID) -> int:
    """Freeze a user's outgoing money (all their accounts, a wallet made if none); returns accounts changed."""
    await account(db, owner_id, WALLET, CREDITS)
    result = await db.execute(
        update(LedgerAccount)
        .where(LedgerAccount.owner_id == owner_id, LedgerAccount.frozen_at.is_(None))
        .values(frozen_at=utcnow())
    )
    return result.rowcount


async def unfreeze(db: AsyncSession, owner_id: uuid.UUID) -> int:
    result = await db.execute(
        update(LedgerAccount)
        .where(LedgerAccount.owner_id == owner_id, LedgerAccount.frozen_at.is_not(None))
        .values(frozen_at=None)
    )
    return result.rowcount


async def is_frozen(db: AsyncSession, owner_id: uuid.UUID) -> bool:
    return bool(
        await db.scalar(
            select(func.count()).where(LedgerAccount.owner_id == owner_id, LedgerAccount.frozen_at.is_not(None))
        )
    )
