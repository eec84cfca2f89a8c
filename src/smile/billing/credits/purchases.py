"""Buying credits through checkout, the payment hooks that grant them, and refunds of purchases.

Ledger kinds: "credit_purchase" (money: CLEARING -price, REVENUE +price; credits: ISSUANCE -n, WALLET +n)
and "credit_refund" (the opposite, for the refunded part).
"""

from __future__ import annotations

import datetime as dt
import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.credits import service
from smile.billing.credits.schemas import PurchaseOut, RefundIn, RefundOut
from smile.billing.ledger import service as ledger
from smile.billing.ledger.models import LedgerHold
from smile.billing.ledger.service import CREDITS, Leg
from smile.billing.payments import hooks
from smile.billing.payments import service as payments
from smile.billing.payments.models import Payment
from smile.identity import audit
from smile.identity.models import User
from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.errors import Conflict, Invalid, NotFound
from smile.kit.ids import new_id

log = structlog.get_logger("smile.billing.credits")

PURPOSE = "credits"
SUCCESS_URL = "/billing/wallet?purchase=success"
CANCEL_URL = "/billing/wallet?purchase=cancelled"
REFUND_HOLD_DAYS = 7  # credits reserved while the processor confirms a refund


async def start_purchase(db: AsyncSession, user: User, package_id: uuid.UUID, key: str | None = None) -> PurchaseOut:
    """Start a checkout for a package; credits are granted when the payment is confirmed (hook below)."""
    rt = runtime.current()
    package = await service.get_package(db, package_id)
    if not package.active:
        raise NotFound("This credit package is no longer on sale.")
    await rt.limiter.hit(
        rt.settings.rate_purchase, "purchase", str(user.id), message="Too many purchases in a short time."
    )
    payment = await payments.start_checkout(
        db,
        user.id,
        purpose=PURPOSE,
        reference_id=str(package.id),
        amount=package.price,
        currency=rt.settings.currency,
        description=f"{package.name}: {package.total:,} credits",
        key=f"credits:{user.id}:{key or new_id()}",
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        data={"credits": package.credits, "bonus": package.bonus, "package": package.slug},
    )
    return PurchaseOut(
        payment_id=payment.id,
        checkout_url=payment.checkout_url,
        package=service.package_out(package),
        credits=package.total,
    )


async def _bought(db: AsyncSession, payment: Payment) -> int:
    """Credits (bonus included) the payment bought, as sold at checkout."""
    data = payment.data or {}
    if "credits" in data:
        return int(data["credits"]) + int(data.get("bonus", 0))
    package = await service.get_package(db, uuid.UUID(payment.reference_id))
    return package.total


async def _paid(db: AsyncSession, payment: Payment) -> int:
    """Credits the payment bought without the package's bonus: the part that may later pay people."""
    data = payment.data or {}
    if "credits" in data:
        return int(data["credits"])
    return (await service.get_package(db, uuid.UUID(payment.reference_id))).credits


@hooks.paid(PURPOSE)
async def credits_paid(db: AsyncSession, payment: Payment) -> None:
    credits = await _bought(db, payment)
    wallet_id = await service.open_wallet(db, payment.user_id)
    legs = [
        Leg(await ledger.platform(db, ledger.CLEARING, payment.currency), -payment.amount),
        Leg(await ledger.platform(db, ledger.REVENUE, payment.currency), payment.amount),
        Leg(await ledger.platform(db, ledger.ISSUANCE, CREDITS), -credits),
        Leg(wallet_id, credits),
    ]
    posted = await ledger.post(
        db,
        "credit_purchase",
        legs,
        key=f"payment:{payment.id}:paid",
        reference=("payment", payment.id),
        memo=payment.description,
        data={"credits": credits, "package": (payment.data or {}).get("package")},
    )
    if not posted.replayed:
        await service.note_wallet_change(db, payment.user_id, added=credits, purchased=await _paid(db, payment))
        await service.topped_up(db, payment.user_id)
        log.info("credits_bought", user_id=str(payment.user_id), credits=credits, payment_id=str(payment.id))


def _credits_for(total: int, price: int, refunded_before: int, amount: int) -> int:
    """Credits matching a refund of `amount` after `refunded_before`: cumulative rounding, so all the
    refunds of a payment together take back exactly what it bought."""
    after = min(price, refunded_before + amount)
    return total * after // price - total * min(price, refunded_before) // price


@hooks.refunded(PURPOSE)
async def credits_refunded(db: AsyncSession, payment: Payment, amount: int, key: str) -> None:
    """The processor confirmed a refund: take the matching credits back.

    A refund started by refund_purchase() reserved the credits (a hold); one started elsewhere
    (e.g. the Stripe dashboard) takes what is still there and records any shortfall.
    """
    wallet_id = await service.open_wallet(db, payment.user_id)
    held = (
        await db.execute(
            select(LedgerHold.id, LedgerHold.amount)
            .where(
                LedgerHold.reference_type == "credit_refund",
                LedgerHold.reference_id == str(payment.id),
                LedgerHold.status == "open",
                LedgerHold.account_id == wallet_id,
            )
            .order_by(LedgerHold.id)
            .limit(1)
            .with_for_update()
        )
    ).first()
    if held is not None:
        wanted = held.amount
        await ledger.release(db, held.id)
    else:
        before = max(0, payment.refunded - amount)  # payments adds the refund before calling this hook
        wanted = _credits_for(await _bought(db, payment), payment.amount, before, amount)
    take = min(wanted, max(0, (await ledger.balance(db, wallet_id)).available))
    legs = [
        Leg(await ledger.platform(db, ledger.REVENUE, payment.currency), -amount),
        Leg(await ledger.platform(db, ledger.CLEARING, payment.currency), amount),
    ]
    if take:
        legs += [Leg(wallet_id, -take), Leg(await ledger.platform(db, ledger.ISSUANCE, CREDITS), take)]
    posted = await ledger.post(
        db,
        "credit_refund",
        legs,
        key=f"credits:{key}",
        reference=("payment", payment.id),
        memo=f"Refund of {payment.description}",
        check_frozen=False,
        data={"amount": amount, "credits": take, "shortfall": wanted - take},
    )
    if posted.replayed:
        return
    if take < wanted:
        log.warning("credit_refund_shortfall", payment_id=str(payment.id), wanted=wanted, taken=take)
    if take:
        await service.note_wallet_change(db, payment.user_id, added=-take, purchased=-take)
        await service.spent(db, payment.user_id)


async def refund_purchase(
    db: AsyncSession, admin: User, payment_id: uuid.UUID, data: RefundIn, ip: str = ""
) -> RefundOut:
    """Refund (part of) a credit purchase. The credits it bought are reserved first: when the buyer
    has spent them, 409 and nothing is refunded."""
    payment = await db.scalar(
        select(Payment).where(Payment.id == payment_id, Payment.purpose == PURPOSE).with_for_update()
    )
    if payment is None:
        raise NotFound("No such credit purchase.")
    if payment.status not in ("paid", "partially_refunded"):
        raise Conflict(
            f"This purchase is {payment.status}; only paid purchases can be refunded.", code="not_refundable"
        )
    remaining = payment.amount - payment.refunded
    amount = data.amount or remaining
    if amount > remaining:
        raise Invalid(f"At most {remaining} (minor units) is left to refund.", fields={"amount": "too large"})
    credits = _credits_for(await _bought(db, payment), payment.amount, payment.refunded, amount)
    wallet_id = await service.open_wallet(db, payment.user_id)
    step = f"{payment.id}:{payment.refunded}:{amount}"
    if credits:
        try:
            await ledger.hold(
                db,
                wallet_id,
                credits,
                key=f"credit_refund_hold:{step}",
                expires_at=utcnow() + dt.timedelta(days=REFUND_HOLD_DAYS),
                reference=("credit_refund", payment.id),
            )
        except ledger.AccountFrozen:  # a frozen wallet cannot spend meanwhile: a balance check is enough
            if (await ledger.balance(db, wallet_id)).available < credits:
                raise _spent(credits) from None
        except ledger.InsufficientFunds:
            raise _spent(credits) from None
    await payments.refund(db, payment.id, amount, key=f"credit_refund:{step}", reason=data.reason)
    await audit.record(
        db,
        admin.id,
        "credits.purchase_refunded",
        payment.user_id,
        ip=ip,
        payment_id=str(payment.id),
        amount=amount,
        credits=credits,
        reason=data.reason,
    )
    return RefundOut(payment_id=payment.id, amount=amount, credits=credits)


def _spent(credits: int) -> Conflict:
    return Conflict(
        f"The buyer has already spent some of the {credits:,} credits this refund would take back; "
        "refund a smaller amount or adjust the wallet first.",
        code="credits_spent",
    )
