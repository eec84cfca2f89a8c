"""The journal browser: ledger transactions newest first with their entries, filters, one transaction's detail."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict

from sqlalchemy import Select, false, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from smile.billing.ledger.models import LedgerAccount, LedgerEntry, LedgerHold, LedgerTransaction
from smile.billing.reports.schemas import JournalDetail, JournalEntry, JournalHold, JournalTransaction
from smile.billing.reports.service import check_range
from smile.identity.models import User
from smile.kit.errors import Invalid, NotFound
from smile.kit.pagination import Page, keyset, page_of

Tx = LedgerTransaction


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


async def _filtered(
    db: AsyncSession,
    stmt: Select,
    *,
    kind: str | None,
    user: str | None,
    account: str | None,
    reference: str | None,
    since: dt.date | None,
    until: dt.date | None,
) -> Select:
    if kind:
        stmt = stmt.where(Tx.kind == kind)
    if user and (user := user.strip()):
        user_id = _uuid(user) or await db.scalar(select(User.id).where(User.username == user.lower().lstrip("@")))
        owned = (
            select(LedgerEntry.transaction_id)
            .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
            .where(LedgerAccount.owner_id == user_id)
        )
        stmt = stmt.where(Tx.id.in_(owned) if user_id else false())
    if account and (account := account.strip()):
        account_id = _uuid(account)
        if account_id is None:
            raise Invalid("account must be a ledger account id.", fields={"account": "not an id"})
        stmt = stmt.where(Tx.id.in_(select(LedgerEntry.transaction_id).where(LedgerEntry.account_id == account_id)))
    if reference and (reference := reference.strip()):
        ref_type, sep, ref_id = reference.partition(":")
        stmt = stmt.where(
            or_(
                Tx.reference_id == reference,
                Tx.idempotency_key == reference,
                (Tx.reference_type == ref_type) & (Tx.reference_id == ref_id) if sep else false(),
            )
        )
    check_range(since=since, until=until)
    if since and until and since > until:
        raise Invalid("since must be on or before until.", fields={"since": "after until"})
    if since:
        stmt = stmt.where(Tx.created_at >= _midnight(since))
    if until:
        stmt = stmt.where(Tx.created_at < _midnight(until + dt.timedelta(days=1)))
    return stmt


async def _entries(db: AsyncSession, tx_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[JournalEntry]]:
    if not tx_ids:
        return {}
    rows = await db.execute(
        select(
            LedgerEntry.id,
            LedgerEntry.transaction_id,
            LedgerEntry.account_id,
            LedgerAccount.owner_id,
            User.username,
            LedgerAccount.purpose,
            LedgerEntry.currency,
            LedgerEntry.amount,
        )
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .outerjoin(User, User.id == LedgerAccount.owner_id)
        .where(LedgerEntry.transaction_id.in_(tx_ids))
        .order_by(LedgerEntry.transaction_id, LedgerEntry.currency, LedgerEntry.amount, LedgerEntry.id)
    )
    out: dict[uuid.UUID, list[JournalEntry]] = defaultdict(list)
    for r in rows:
        out[r.transaction_id].append(
            JournalEntry(
                id=r.id,
                account_id=r.account_id,
                owner_id=r.owner_id,
                owner_username=r.username,
                purpose=r.purpose,
                currency=r.currency,
                amount=r.amount,
            )
        )
    return out


def _select() -> Select:
    creator, reversal = aliased(User), aliased(Tx)
    return (
        select(Tx, creator.username, reversal.id)
        .outerjoin(creator, creator.id == Tx.created_by)
        .outerjoin(reversal, reversal.reverses_id == Tx.id)
    )


async def _present(db: AsyncSession, rows) -> list[JournalTransaction]:
    entries = await _entries(db, [tx.id for tx, _, _ in rows])
    return [
        JournalTransaction(
            id=tx.id,
            kind=tx.kind,
            created_at=tx.created_at,
            idempotency_key=tx.idempotency_key,
            reference_type=tx.reference_type,
            reference_id=tx.reference_id,
            memo=tx.memo,
            reverses_id=tx.reverses_id,
            reversed_by_id=reversed_by,
            created_by=tx.created_by,
            created_by_username=username,
            data=tx.data or {},
            entries=entries.get(tx.id, []),
        )
        for tx, username, reversed_by in rows
    ]


async def journal(
    db: AsyncSession,
    *,
    kind: str | None = None,
    user: str | None = None,
    account: str | None = None,
    reference: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> Page[JournalTransaction]:
    """Transactions newest first. `user` takes a username or id (transactions touching their accounts);
    `reference` a reference id, `type:id`, or an idempotency key; since/until are inclusive UTC days."""
    stmt = await _filtered(
        db, _select(), kind=kind, user=user, account=account, reference=reference, since=since, until=until
    )
    rows = list((await db.execute(keyset(stmt, Tx.id, cursor, limit))).all())
    rows, next_cursor = page_of(rows, limit, id_of=lambda row: row[0].id)
    return Page[JournalTransaction](items=await _present(db, rows), next_cursor=next_cursor)


async def _one(db: AsyncSession, tx_id: uuid.UUID) -> JournalTransaction | None:
    rows = (await db.execute(_select().where(Tx.id == tx_id))).all()
    return (await _present(db, rows))[0] if rows else None


async def transaction(db: AsyncSession, tx_id: uuid.UUID) -> JournalDetail:
    """One transaction with its entries, what it reverses or was reversed by, and the hold it captured."""
    tx = await _one(db, tx_id)
    if tx is None:
        raise NotFound("No such ledger transaction.")
    hold = (await db.execute(select(LedgerHold).where(LedgerHold.transaction_id == tx_id))).scalar_one_or_none()
    return JournalDetail(
        **tx.model_dump(),
        reverses=await _one(db, tx.reverses_id) if tx.reverses_id else None,
        reversed_by=await _one(db, tx.reversed_by_id) if tx.reversed_by_id else None,
        hold=JournalHold(
            id=hold.id,
            account_id=hold.account_id,
            amount=hold.amount,
            captured=hold.captured,
            status=hold.status,
            created_at=hold.created_at,
            settled_at=hold.settled_at,
        )
        if hold
        else None,
    )


async def kinds(db: AsyncSession) -> list[str]:
    """The transaction kinds in the journal (for the filter menu), by a loose scan of the kind index."""
    return list(
        await db.scalars(
            text("""
        WITH RECURSIVE k(kind) AS (
            SELECT min(kind) FROM ledger_transactions
            UNION ALL SELECT (SELECT min(kind) FROM ledger_transactions WHERE kind > k.kind) FROM k
            WHERE k.kind IS NOT NULL)
        SELECT kind FROM k WHERE kind IS NOT NULL""")
        )
    )
