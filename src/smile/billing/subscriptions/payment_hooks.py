"""What a subscription payment does once the processor settles it (run by the payments event job).

payment.data["kind"] says what it paid for: "start" (the first checkout), "change" (the prorated
amount due for a new plan) or "renewal" (one period). Money received is always booked
("subscription_payment": CLEARING -p, REVENUE +p); a payment that can no longer apply (a second
checkout for plans already held, a renewal for a period already paid) is refunded in full.
"""

from __future__ import annotations

import datetime as dt
import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import Leg, Posted
from smile.billing.payments import hooks
from smile.billing.payments import service as payments
from smile.billing.payments.models import Payment
from smile.billing.subscriptions import service
from smile.billing.subscriptions.models import LIVE, Subscription
from smile.billing.subscriptions.periods import add_interval
from smile.billing.subscriptions.plans import get_plan
from smile.kit.db import utcnow
from smile.kit.errors import AppError

log = structlog.get_logger("smile.billing.subscriptions")

RETRY_AFTER_DAYS = 1  # a declined renewal is tried again daily through the grace period


def charged(payment: Payment) -> int:
    """What the processor actually collected: nothing for a checkout that starts a free trial."""
    data = payment.data or {}
    if data.get("kind") == "start" and int(data.get("trial_days") or 0) > 0:
        return 0
    return payment.amount


async def _book(db: AsyncSession, payment: Payment, amount: int) -> Posted | None:
    if amount <= 0:
        return None
    clearing = await ledger.platform(db, ledger.CLEARING, payment.currency)
    revenue = await ledger.platform(db, ledger.REVENUE, payment.currency)
    return await ledger.post(
        db,
        "subscription_payment",
        [Leg(clearing, -amount), Leg(revenue, amount)],
        key=f"payment:{payment.id}:paid",
        reference=("payment", payment.id),
        memo=payment.description,
        data={
            "user_id": str(payment.user_id),
            "kind": payment.data.get("kind"),
            "subscription_id": payment.data.get("subscription_id"),
            "plan_id": payment.data.get("plan_id"),
        },
    )


@hooks.paid(service.PURPOSE)
async def on_paid(db: AsyncSession, payment: Payment) -> None:
    posted = await _book(db, payment, charged(payment))
    if posted is not None and posted.replayed:
        return  # handled before (the booking and the state change commit together)
    kind = payment.data.get("kind")
    if kind == "start":
        await _start(db, payment)
    elif kind == "change":
        await _change(db, payment)
    elif kind == "renewal":
        await _renew(db, payment)
    else:
        log.error("subscription_payment_unknown_kind", payment=str(payment.id), kind=kind)


async def _start(db: AsyncSession, payment: Payment) -> None:
    if await db.scalar(select(Subscription.id).where(Subscription.first_payment_id == payment.id)):
        return
    plan = await get_plan(db, uuid.UUID(payment.data["plan_id"]))
    sub = await service._create(
        db, payment.user_id, plan, utcnow(), payment=payment, trial_days=int(payment.data.get("trial_days") or 0)
    )
    if sub is None:
        await _give_back(db, payment, "A subscription to these plans was already active.")
    else:
        log.info("subscription_started", subscription=str(sub.id), plan=plan.code, status=sub.status)


async def _change(db: AsyncSession, payment: Payment) -> None:
    data = payment.data
    sub = await service.get(db, None, uuid.UUID(data["subscription_id"]), lock=True)
    if (
        sub.status != "active"
        or str(sub.plan_id) != data["from_plan_id"]
        or service._period_key(sub) != data["period_end"]
    ):
        await _give_back(db, payment, "The subscription changed before the payment arrived.")
        return
    plan = await get_plan(db, uuid.UUID(data["plan_id"]))
    service._switch(sub, plan, utcnow(), int(data["credit_after"]), keep_period=False)
    await db.flush()
    log.info("subscription_plan_changed", subscription=str(sub.id), plan=plan.code)


async def _renew(db: AsyncSession, payment: Payment) -> None:
    data = payment.data
    sub = await service.get(db, None, uuid.UUID(data["subscription_id"]), lock=True)
    if sub.status not in LIVE or service._period_key(sub) != data["period_end"]:
        await _give_back(db, payment, "This period was already paid, or the subscription ended.")
        return
    plan = await get_plan(db, sub.plan_id)
    start = sub.current_period_end
    sub.credit = max(0, sub.credit - int(data.get("credit_used") or 0))
    sub.status, sub.current_period_start, sub.current_period_end = "active", start, add_interval(start, plan.interval)
    sub.past_due_since, sub.renewal_payment_id, sub.renewal_attempts, sub.next_attempt_at = None, None, 0, None
    await db.flush()
    log.info("subscription_renewed", subscription=str(sub.id), until=sub.current_period_end.isoformat())


async def _give_back(db: AsyncSession, payment: Payment, reason: str) -> None:
    """Refund a payment that cannot apply, and stop its processor-side subscription if it made one."""
    log.warning("subscription_payment_refunded", payment=str(payment.id), reason=reason)
    if (amount := charged(payment)) > 0:
        try:
            await payments.refund(db, payment.id, amount, key=f"payment:{payment.id}:unused", reason=reason)
        except AppError as exc:  # e.g. no charge to refund at the processor: left to an admin
            log.error("subscription_refund_failed", payment=str(payment.id), error=exc.message)
    if payment.provider == "stripe" and payment.subscription_ref and payment.data.get("kind") == "start":
        await payments.provider_for("stripe").cancel_subscription(
            payment.subscription_ref, at_period_end=False, key=f"payment:{payment.id}:unused-subscription"
        )


@hooks.failed(service.PURPOSE)
async def on_failed(db: AsyncSession, payment: Payment) -> None:
    """A declined renewal makes the subscription past due (a declined first checkout changes nothing)."""
    data = payment.data
    if data.get("kind") != "renewal":
        return
    sub = await service.get(db, None, uuid.UUID(data["subscription_id"]), lock=True)
    if sub.status not in LIVE or service._period_key(sub) != data["period_end"]:
        return
    due = sub.current_period_end
    sub.status, sub.past_due_since = "past_due", sub.past_due_since or due
    if sub.renewal_payment_id == payment.id:
        sub.renewal_payment_id = None
    sub.next_attempt_at = max(utcnow(), due) + dt.timedelta(days=RETRY_AFTER_DAYS)
    await db.flush()
    log.info("subscription_past_due", subscription=str(sub.id))


@hooks.refunded(service.PURPOSE)
async def on_refunded(db: AsyncSession, payment: Payment, amount: int, key: str) -> None:
    """Book a refund of a subscription payment: REVENUE -x, CLEARING +x."""
    amount = min(amount, charged(payment))
    if amount <= 0:
        return
    clearing = await ledger.platform(db, ledger.CLEARING, payment.currency)
    revenue = await ledger.platform(db, ledger.REVENUE, payment.currency)
    await ledger.post(
        db,
        "subscription_refund",
        [Leg(revenue, -amount), Leg(clearing, amount)],
        key=key,
        reference=("payment", payment.id),
        memo=f"Refund: {payment.description}",
        data={"user_id": str(payment.user_id)},
        check_frozen=False,
    )
