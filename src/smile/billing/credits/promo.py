"""Promo codes: admin batches, CSV export, and race-free idempotent redemption.

A code is 16 random characters from a 31-letter alphabet (about 79 bits). Redeeming inserts a
redemption row (unique per code and user; per batch and user when once_per_user), then takes a
use with a conditional UPDATE (uses < max_uses), then posts "promo_redemption" (PROMOTIONS -n,
WALLET +n) — all in the request's transaction, so a refusal leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.credits import service
from smile.billing.credits.models import PromoBatch, PromoCode, PromoRedemption
from smile.billing.credits.schemas import BatchIn, BatchOut, RedemptionOut
from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import CREDITS, Leg
from smile.identity import audit
from smile.identity.models import User
from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.errors import Conflict, Gone, Invalid, NotFound
from smile.kit.ids import new_id
from smile.kit.pagination import keyset, page_of

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
LENGTH = 16


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(raw: str) -> str:
    return re.sub(r"[\s\-_]", "", raw).upper()


def display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


async def create_batch(db: AsyncSession, admin: User, data: BatchIn, ip: str = "") -> PromoBatch:
    if data.expires_at is not None and data.expires_at <= utcnow():
        raise Invalid("The expiry must be in the future.", fields={"expires_at": "in the past"})
    batch = PromoBatch(
        id=new_id(),
        name=data.name.strip(),
        amount=data.amount,
        count=data.count,
        max_uses=data.max_uses,
        once_per_user=data.once_per_user,
        expires_at=data.expires_at,
        created_by=admin.id,
    )
    db.add(batch)
    await db.flush()
    made = 0
    while made < data.count:  # a collision of 79-bit codes is not expected, but a clash simply retries
        wanted = min(1000, data.count - made)
        rows = [
            {"id": new_id(), "batch_id": batch.id, "code": new_code(), "max_uses": data.max_uses} for _ in range(wanted)
        ]
        made += len(
            list(await db.scalars(insert(PromoCode).values(rows).on_conflict_do_nothing().returning(PromoCode.id)))
        )
    await audit.record(
        db,
        admin.id,
        "credits.promo_batch_created",
        batch.id,
        target_type="promo_batch",
        ip=ip,
        name=batch.name,
        amount=batch.amount,
        count=batch.count,
        max_uses=batch.max_uses,
        once_per_user=batch.once_per_user,
        expires_at=batch.expires_at.isoformat() if batch.expires_at else None,
    )
    return batch


def _stats():
    return (
        select(PromoRedemption.batch_id, func.count().label("n"), func.sum(PromoRedemption.amount).label("total"))
        .group_by(PromoRedemption.batch_id)
        .subquery()
    )


async def list_batches(db: AsyncSession, cursor: str | None, limit: int) -> tuple[list[BatchOut], str | None]:
    stats = _stats()
    stmt = select(PromoBatch, func.coalesce(stats.c.n, 0), func.coalesce(stats.c.total, 0)).outerjoin(
        stats, stats.c.batch_id == PromoBatch.id
    )
    rows = (await db.execute(keyset(stmt, PromoBatch.id, cursor, limit))).all()
    rows, next_cursor = page_of(rows, limit, id_of=lambda r: r[0].id)
    return [_batch_out(b, n, total) for b, n, total in rows], next_cursor


async def get_batch(db: AsyncSession, batch_id: uuid.UUID) -> BatchOut:
    stats = _stats()
    row = (
        await db.execute(
            select(PromoBatch, func.coalesce(stats.c.n, 0), func.coalesce(stats.c.total, 0))
            .outerjoin(stats, stats.c.batch_id == PromoBatch.id)
            .where(PromoBatch.id == batch_id)
        )
    ).first()
    if row is None:
        raise NotFound("No such promo batch.")
    return _batch_out(*row)


async def export_batch(db: AsyncSession, admin: User, batch_id: uuid.UUID, ip: str = "") -> BatchOut:
    """The batch, with the export audited (the codes are as good as credits)."""
    batch = await get_batch(db, batch_id)
    await audit.record(db, admin.id, "credits.promo_batch_exported", batch.id, target_type="promo_batch", ip=ip)
    return batch


def _batch_out(batch: PromoBatch, redemptions: int, total: int) -> BatchOut:
    out = BatchOut.model_validate(batch)
    out.redemptions, out.credits_given = int(redemptions), int(total)
    return out


async def batch_csv(batch_id: uuid.UUID, page: int = 1000) -> AsyncIterator[str]:
    """The batch's codes as CSV (code, uses, max_uses, amount, expires_at), in its own session."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["code", "uses", "max_uses", "amount", "expires_at", "batch"])
    async with runtime.current().db.session() as db:
        batch = await db.get(PromoBatch, batch_id)
        if batch is None:
            return
        expires = batch.expires_at.isoformat() if batch.expires_at else ""
        after: uuid.UUID | None = None
        while True:
            stmt = select(PromoCode.id, PromoCode.code, PromoCode.uses).where(PromoCode.batch_id == batch_id)
            if after is not None:
                stmt = stmt.where(PromoCode.id > after)
            rows = (await db.execute(stmt.order_by(PromoCode.id).limit(page))).all()
            for row in rows:
                writer.writerow(
                    [
                        display(row.code),
                        row.uses,
                        batch.max_uses if batch.max_uses else "unlimited",
                        batch.amount,
                        expires,
                        service._cell(batch.name),
                    ]
                )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if len(rows) < page:
                return
            after = rows[-1].id


async def redeem(db: AsyncSession, user: User, raw_code: str) -> RedemptionOut:
    """Redeem a code; redeeming it again (a retry) returns the first result and moves nothing.

    Refusals: 404 promo_unknown, 410 promo_expired, 409 promo_used_up or promo_already_redeemed.
    """
    rt = runtime.current()
    rule = rt.settings.rate_redeem
    await rt.limiter.check_lockout(rule, "redeem", str(user.id), message="Too many wrong promo codes.")
    code = normalize(raw_code)
    found = (
        (
            await db.execute(
                select(PromoCode, PromoBatch)
                .join(PromoBatch, PromoBatch.id == PromoCode.batch_id)
                .where(PromoCode.code == code)
            )
        ).first()
        if 0 < len(code) <= 40
        else None
    )
    if found is None:
        await rt.limiter.record_failure(rule, "redeem", str(user.id))
        raise NotFound("No such promo code. Check it for typos.", code="promo_unknown", fields={"code": "unknown code"})
    promo, batch = found
    if (done := await _existing(db, promo.id, user.id)) is not None:
        return await _out(db, done, promo.code, replayed=True)
    if batch.expires_at is not None and batch.expires_at <= utcnow():
        raise Gone(
            f"This promo code expired on {batch.expires_at:%Y-%m-%d}.", code="promo_expired", fields={"code": "expired"}
        )
    if promo.max_uses is not None and promo.uses >= promo.max_uses:
        raise _used_up()
    async with db.begin_nested():  # a refusal below undoes the redemption row, whoever the caller is
        redemption_id = await db.scalar(
            insert(PromoRedemption)
            .values(
                id=new_id(),
                code_id=promo.id,
                batch_id=batch.id,
                user_id=user.id,
                once_per_user=batch.once_per_user,
                amount=batch.amount,
            )
            .on_conflict_do_nothing()
            .returning(PromoRedemption.id)
        )
        if redemption_id is None:  # a concurrent request of this user won the unique index
            if (done := await _existing(db, promo.id, user.id)) is not None:
                return await _out(db, done, promo.code, replayed=True)
            raise Conflict(
                "You have already redeemed a code from this promotion.",
                code="promo_already_redeemed",
                fields={"code": "already redeemed"},
            )
        took = await db.scalar(
            update(PromoCode)
            .where(
                PromoCode.id == promo.id,
                or_(PromoCode.max_uses.is_(None), PromoCode.uses < PromoCode.max_uses),
            )
            .values(uses=PromoCode.uses + 1)
            .returning(PromoCode.id)
        )
        if took is None:
            raise _used_up()  # another user took the last use meanwhile
        wallet_id = await service.open_wallet(db, user.id)
        promotions = await ledger.platform(db, ledger.PROMOTIONS, CREDITS)
        legs = [Leg(promotions, -batch.amount), Leg(wallet_id, batch.amount)]
        posted = await ledger.post(
            db,
            "promo_redemption",
            legs,
            key=f"promo:{promo.id}:{user.id}",
            reference=("promo_redemption", redemption_id),
            memo=f"Promo code: {batch.name}",
        )
        await db.execute(
            update(PromoRedemption)
            .where(PromoRedemption.id == redemption_id)
            .values(transaction_id=posted.transaction_id)
        )
        await service.note_wallet_change(db, user.id, added=batch.amount)  # promo credits never pay people
        await service.topped_up(db, user.id)
    redemption = await db.get(PromoRedemption, redemption_id)
    return await _out(db, redemption, promo.code, replayed=False)


def _used_up() -> Conflict:
    return Conflict("This promo code has been used up.", code="promo_used_up", fields={"code": "used up"})


async def _existing(db: AsyncSession, code_id: uuid.UUID, user_id: uuid.UUID) -> PromoRedemption | None:
    return await db.scalar(
        select(PromoRedemption).where(PromoRedemption.code_id == code_id, PromoRedemption.user_id == user_id)
    )


async def _out(db: AsyncSession, redemption: PromoRedemption, code: str, replayed: bool) -> RedemptionOut:
    balance = (await ledger.balance(db, await ledger.wallet(db, redemption.user_id))).balance
    return RedemptionOut(
        id=redemption.id,
        code=display(code),
        amount=redemption.amount,
        balance=balance,
        redeemed_at=redemption.created_at,
        replayed=replayed,
    )
