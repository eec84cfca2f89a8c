"""Reading the ledger: an account's statement, newest first (the wallet history and the journal pages).

Re-exported by ledger.service, which writes; this module only reads.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.ledger.models import LedgerEntry, LedgerTransaction
from smile.kit.pagination import keyset, page_of


@dataclass(frozen=True)
class Line:
    """One entry of an account's statement, with its transaction."""

    id: uuid.UUID
    amount: int
    currency: str
    kind: str
    memo: str
    reference_type: str | None
    reference_id: str | None
    transaction_id: uuid.UUID
    created_at: dt.datetime


async def statement(
    db: AsyncSession,
    account_id: uuid.UUID,
    cursor: str | None,
    limit: int,
    *,
    kind: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> tuple[list[Line], str | None]:
    """An account's entries, newest first, with optional filters; cursor paginated."""
    stmt = (
        select(
            LedgerEntry.id,
            LedgerEntry.amount,
            LedgerEntry.currency,
            LedgerTransaction.kind,
            LedgerTransaction.memo,
            LedgerTransaction.reference_type,
            LedgerTransaction.reference_id,
            LedgerEntry.transaction_id,
            LedgerTransaction.created_at,
        )
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.account_id == account_id)
    )
    if kind:
        stmt = stmt.where(LedgerTransaction.kind == kind)
    if since:
        stmt = stmt.where(LedgerTransaction.created_at >= since)
    if until:
        stmt = stmt.where(LedgerTransaction.created_at < until)
    rows = [Line(**r._mapping) for r in await db.execute(keyset(stmt, LedgerEntry.id, cursor, limit))]
    return page_of(rows, limit)
