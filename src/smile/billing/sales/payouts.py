"""Earnings and payouts: the seller's dashboard figures, payout accounts, payout requests and their settlement,
and the admin freeze of an account's outgoing money.

Ledger kinds: "payout_requested" (EARNINGS → PAYOUTS), "payout_paid" (PAYOUTS → CLEARING),
"payout_failed" (PAYOUTS → EARNINGS).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.ledger import service as ledger
from smile.billing.ledger.models import LedgerAccount
from smile.billing.ledger.service import Leg
from smile.billing.sales.models import Payout, PayoutAccount, Sale
from smile.identity import audit
from smile.identity.models import User
from smile.kit import jobs, mail, runtime
from smile.kit.db import utcnow
from smile.kit.errors import AppError, Conflict, Invalid, NotFound
from smile.kit.ids import new_id
from smile.kit.money import money
from smile.kit.pagination import keyset, page_of

log = structlog.get_logger("smile.billing.sales")
STRIPE_ACCOUNT = re.compile(r"^acct_[A-Za-z0-9]{4,60}$")


def _settings():
    return runtime.current().settings


# ---------------------------------------------------------------- earnings


@dataclass(frozen=True)
class Earnings:
    currency: str
    pending: int  # in escrow
    available: int  # earnings that can be paid out
    in_transit: int  # requested payouts not settled yet
    paid_out: int
    threshold: int
    frozen: bool
    by_day: list[tuple[dt.date, int]]  # the seller's share of sales paid each day (refunds excluded)

    @property
    def can_request(self) -> bool:
        return not self.frozen and self.in_transit == 0 and self.available >= self.threshold


async def earnings(db: AsyncSession, user_id: uuid.UUID, days: int = 30) -> Earnings:
    cur = _settings().currency
    rows = dict(
        (
            await db.execute(
                select(LedgerAccount.purpose, LedgerAccount.balance - LedgerAccount.held).where(
                    LedgerAccount.owner_id == user_id,
                    LedgerAccount.currency == cur,
                    LedgerAccount.purpose.in_((ledger.ESCROW, ledger.EARNINGS)),
                )
            )
        ).all()
    )
    totals = dict(
        (
            await db.execute(
                select(Payout.status, func.sum(Payout.amount))
                .where(Payout.user_id == user_id, Payout.currency == cur)
                .group_by(Payout.status)
            )
        ).all()
    )
    today = utcnow().date()
    since = today - dt.timedelta(days=days - 1)
    day = func.date(func.timezone("UTC", Sale.paid_at))
    per_day = dict(
        (
            await db.execute(
                select(day, func.sum(Sale.price - Sale.fee))
                .where(
                    Sale.seller_id == user_id,
                    Sale.currency == cur,
                    Sale.status.in_(("escrow", "released")),
                    Sale.paid_at >= dt.datetime.combine(since, dt.time(), dt.UTC),
                )
                .group_by(day)
            )
        ).all()
    )
    by_day = [(d, int(per_day.get(d, 0))) for d in (since + dt.timedelta(days=i) for i in range(days))]
    return Earnings(
        currency=cur,
        pending=rows.get(ledger.ESCROW, 0),
        available=rows.get(ledger.EARNINGS, 0),
        in_transit=int((totals.get("requested") or 0) + (totals.get("review") or 0)),
        paid_out=int(totals.get("paid") or 0),
        threshold=_settings().payout_threshold,
        frozen=await ledger.is_frozen(db, user_id),
        by_day=by_day,
    )


# ---------------------------------------------------------------- payout accounts


async def payout_account(db: AsyncSession, user_id: uuid.UUID) -> PayoutAccount | None:
    return await db.get(PayoutAccount, user_id)


async def set_payout_account(db: AsyncSession, user_id: uuid.UUID, destination: str) -> PayoutAccount:
    destination = destination.strip()
    if _settings().payment_provider == "stripe":
        if not STRIPE_ACCOUNT.match(destination):
            raise Invalid(
                "Enter your Stripe Connect account id (it looks like acct_1A2b3C4d5E).",
                fields={"destination": "not a Stripe account id"},
            )
    elif not 3 <= len(destination) <= 200:
        raise Invalid(
            'Describe where payouts go in 3 to 200 characters (e.g. an IBAN or "PayPal me@example.com").',
            fields={"destination": "3 to 200 characters"},
        )
    current = await payout_account(db, user_id)
    if current is not None and current.destination == destination:
        return current  # unchanged: no new cooling-off
    usable_from = utcnow() + dt.timedelta(hours=_settings().payout_cooling_hours)
    await db.execute(
        insert(PayoutAccount)
        .values(user_id=user_id, destination=destination, usable_from=usable_from)
        .on_conflict_do_update(
            index_elements=["user_id"],
            set_={"destination": destination, "usable_from": usable_from, "updated_at": func.now()},
        )
    )
    await db.flush()
    user = await db.get(User, user_id)
    when = usable_from.strftime("%Y-%m-%d %H:%M UTC")
    await mail.send(
        db,
        user.email,
        "Your payout destination changed",
        f"Hello {user.display_name or user.username},\n\n"
        f"Payouts from your smile earnings will now go to: {destination}\n"
        f"For your safety, payouts to a new destination can be requested from {when}.\n\n"
        "If you did not make this change, change your password now and contact support: "
        "until then no payout can go to it.\n",
    )
    return await db.get(PayoutAccount, user_id, populate_existing=True)


# ---------------------------------------------------------------- payouts


async def request_payout(db: AsyncSession, user_id: uuid.UUID, amount: int | None = None) -> Payout:
    """Move available earnings to PAYOUTS; one open payout per seller (a partial unique index decides races)."""
    settings = _settings()
    if await ledger.is_frozen(db, user_id):
        raise ledger.AccountFrozen("Payouts are frozen on this account; contact support.")
    await runtime.current().limiter.hit(
        settings.rate_payout, "payout", str(user_id), message="Too many payout requests."
    )
    account = await payout_account(db, user_id)
    if account is None:
        raise Conflict("Set where payouts go first (PUT /api/v1/billing/payout-account).", code="no_payout_account")
    if account.usable_from > utcnow():
        raise Conflict(
            "Your payout destination is new: for your safety, payouts to it can be requested from "
            f"{account.usable_from.strftime('%Y-%m-%d %H:%M UTC')}.",
            code="payout_destination_cooling_off",
        )
    cur, threshold = settings.currency, settings.payout_threshold
    earnings_id = await ledger.account(db, user_id, ledger.EARNINGS, cur)
    available = (await ledger.balance(db, earnings_id)).available
    if available < threshold:
        raise Conflict(
            f"Your available balance is {money(available, cur)}; payouts start at {money(threshold, cur)}.",
            code="below_threshold",
        )
    amount = available if amount is None else amount
    if amount < threshold or amount > available:
        raise Invalid(
            f"Ask for between {money(threshold, cur)} and {money(available, cur)}.", fields={"amount": "out of range"}
        )
    review = await _review_reason(db, user_id, amount)
    payout = Payout(
        id=new_id(),
        user_id=user_id,
        amount=amount,
        currency=cur,
        status="review" if review else "requested",
        review_reason=review,
        destination=account.destination,
    )
    try:
        async with db.begin_nested():
            db.add(payout)
            await db.flush()
    except IntegrityError as exc:
        raise Conflict(
            "You already have a payout in progress; wait until it is paid or has failed.", code="payout_open"
        ) from exc
    await ledger.post(
        db,
        "payout_requested",
        [Leg(earnings_id, -amount), Leg(await ledger.platform(db, ledger.PAYOUTS, cur), amount)],
        key=f"payout:{payout.id}:requested",
        reference=("payout", payout.id),
        created_by=user_id,
        memo="Payout requested",
    )  # never the destination: the journal is append-only, erasure
    # clears the destination on the payout row instead
    if not review:
        await _send(db, payout)
    return payout


async def _review_reason(db: AsyncSession, user_id: uuid.UUID, amount: int) -> str:
    """Why this payout must wait for an admin ("" when it need not): a seller's first, or a large one."""
    if not await db.scalar(
        select(func.count()).select_from(Payout).where(Payout.user_id == user_id, Payout.status == "paid")
    ):
        return "first payout"
    over = _settings().payout_review_over
    if amount > over:
        return f"over {money(over, _settings().currency)}"
    return ""


async def _send(db: AsyncSession, payout: Payout) -> None:
    """A requested payout goes out: by the transfer job in Stripe mode, by an admin by hand otherwise."""
    if _settings().payment_provider == "stripe":
        from smile.billing.sales import tasks

        await jobs.defer(db, tasks.send_payout, payout_id=str(payout.id))


async def payouts_of(
    db: AsyncSession, user_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[Payout], str | None]:
    stmt = select(Payout).where(Payout.user_id == user_id)
    return page_of(list(await db.scalars(keyset(stmt, Payout.id, cursor, limit))), limit)


async def admin_payouts(
    db: AsyncSession, status: str | None, cursor: str | None, limit: int
) -> tuple[list[tuple[Payout, str]], str | None]:
    """Payouts with their seller's username, newest first."""
    stmt = select(Payout, User.username).join(User, User.id == Payout.user_id)
    if status:
        stmt = stmt.where(Payout.status == status)
    rows = [(r[0], r[1]) for r in await db.execute(keyset(stmt, Payout.id, cursor, limit))]
    return page_of(rows, limit, id_of=lambda row: row[0].id)


async def _settle(
    db: AsyncSession,
    payout: Payout,
    *,
    paid: bool,
    actor_id: uuid.UUID | None,
    transfer_ref: str | None = None,
    reason: str = "",
) -> Payout:
    cur = payout.currency
    in_transit = await ledger.platform(db, ledger.PAYOUTS, cur)
    if paid:
        to, kind = await ledger.platform(db, ledger.CLEARING, cur), "payout_paid"
    else:
        to, kind = await ledger.account(db, payout.user_id, ledger.EARNINGS, cur), "payout_failed"
    await ledger.post(
        db,
        kind,
        [Leg(in_transit, -payout.amount), Leg(to, payout.amount)],
        key=f"payout:{payout.id}:{'paid' if paid else 'failed'}",
        reference=("payout", payout.id),
        created_by=actor_id,
        check_frozen=False,
        memo=reason[:500],
    )
    payout.status = "paid" if paid else "failed"
    payout.transfer_ref, payout.failure_reason = transfer_ref, reason[:500]
    payout.settled_at, payout.settled_by = utcnow(), actor_id
    await db.flush()
    return payout


async def _open(db: AsyncSession, payout_id: uuid.UUID, *statuses: str) -> Payout:
    payout = await db.scalar(select(Payout).where(Payout.id == payout_id).with_for_update())
    if payout is None:
        raise NotFound("No such payout.")
    if payout.status == "review" and "review" not in statuses:
        raise Conflict("This payout waits for review: approve it first.", code="payout_in_review")
    if payout.status not in statuses:
        raise Conflict(f"This payout is already {payout.status}.", code="payout_settled")
    return payout


async def approve(db: AsyncSession, admin: User, payout_id: uuid.UUID, ip: str = "") -> Payout:
    """Admin: a payout in review may go (sent by the transfer job in Stripe mode, by hand otherwise). Audited."""
    payout = await _open(db, payout_id, "review")
    if payout.user_id == admin.id:
        raise Conflict("Another admin must review your own payout.", code="own_payout")
    payout.status, payout.reviewed_by, payout.reviewed_at = "requested", admin.id, utcnow()
    await db.flush()
    await _send(db, payout)
    await audit.record(
        db,
        admin.id,
        "billing.payout_approved",
        payout.user_id,
        ip=ip,
        payout_id=str(payout.id),
        amount=payout.amount,
        currency=payout.currency,
        reason=payout.review_reason,
    )
    return payout


async def mark_paid(db: AsyncSession, admin: User, payout_id: uuid.UUID, reference: str, ip: str = "") -> Payout:
    """Admin: the money was sent by hand (sandbox, or a transfer made outside smile)."""
    payout = await _settle(
        db,
        await _open(db, payout_id, "requested"),
        paid=True,
        actor_id=admin.id,
        transfer_ref=reference.strip()[:200] or "manual",
    )
    await audit.record(
        db,
        admin.id,
        "billing.payout_paid",
        payout.user_id,
        ip=ip,
        payout_id=str(payout.id),
        amount=payout.amount,
        currency=payout.currency,
        reference=payout.transfer_ref,
    )
    return payout


async def mark_failed(db: AsyncSession, admin: User, payout_id: uuid.UUID, reason: str, ip: str = "") -> Payout:
    """Admin: the payout could not be made, or was rejected in review; the money returns to the seller's earnings."""
    if len(reason.strip()) < 3:
        raise Invalid("Say why the payout failed (the seller sees it).", fields={"reason": "required"})
    payout = await _open(db, payout_id, "review", "requested")
    if payout.status == "review":
        payout.reviewed_by, payout.reviewed_at = admin.id, utcnow()
    payout = await _settle(db, payout, paid=False, actor_id=admin.id, reason=reason.strip())
    await audit.record(
        db,
        admin.id,
        "billing.payout_failed",
        payout.user_id,
        ip=ip,
        payout_id=str(payout.id),
        amount=payout.amount,
        currency=payout.currency,
        reason=payout.failure_reason,
    )
    return payout


async def fail_open_for_erasure(db: AsyncSession, user_id: uuid.UUID) -> int:
    """An erased account: a payout not sent yet fails, its money back in the (kept, frozen) earnings."""
    open_ = list(
        await db.scalars(
            select(Payout)
            .where(Payout.user_id == user_id, Payout.status.in_(("review", "requested")))
            .with_for_update()
        )
    )
    for payout in open_:
        await _settle(db, payout, paid=False, actor_id=None, reason="The account was erased before the payout.")
    return len(open_)


async def send_payout(db: AsyncSession, payout_id: uuid.UUID) -> None:
    """Stripe mode (a job): a Connect transfer, then paid; a refusal by the processor fails the payout."""
    payout = await db.scalar(select(Payout).where(Payout.id == payout_id).with_for_update())
    if payout is None or payout.status != "requested":
        return
    from smile.billing.payments import service as payments

    try:
        ref = await payments.transfer(
            db,
            amount=payout.amount,
            currency=payout.currency,
            destination=payout.destination,
            key=f"payout:{payout.id}",
            description=f"smile payout {payout.id}",
        )
    except AppError as exc:  # refused (bad destination, ...): not worth retrying
        log.warning("payout_refused", payout_id=str(payout.id), error=exc.message)
        await _settle(db, payout, paid=False, actor_id=None, reason=exc.message)
        return
    await _settle(db, payout, paid=True, actor_id=None, transfer_ref=ref)


# ---------------------------------------------------------------- freeze


async def set_frozen(
    db: AsyncSession, admin: User, user_id: uuid.UUID, frozen: bool, reason: str, ip: str = ""
) -> bool:
    if await db.get(User, user_id) is None:
        raise NotFound("No such user.")
    if frozen and len(reason.strip()) < 3:
        raise Invalid("Give a reason for freezing the account.", fields={"reason": "required"})
    if frozen:
        await ledger.freeze(db, user_id)
    else:
        await ledger.unfreeze(db, user_id)
    await audit.record(
        db, admin.id, "billing.freeze" if frozen else "billing.unfreeze", user_id, ip=ip, reason=reason.strip()[:500]
    )
    return frozen


async def frozen_accounts(db: AsyncSession, limit: int = 100) -> list[tuple[uuid.UUID, str, dt.datetime]]:
    since = func.min(LedgerAccount.frozen_at)
    rows = await db.execute(
        select(User.id, User.username, since)
        .join(LedgerAccount, LedgerAccount.owner_id == User.id)
        .where(LedgerAccount.frozen_at.is_not(None))
        .group_by(User.id, User.username)
        .order_by(since.desc())
        .limit(limit)
    )
    return [(r[0], r[1], r[2]) for r in rows]
