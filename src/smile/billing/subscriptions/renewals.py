"""The periodic renewal run (sandbox and free plans; Stripe renews its own subscriptions).

Every step takes `now`, so tests move time instead of waiting:
1. subscriptions set to cancel at period end whose period is over → canceled;
2. past-due subscriptions whose grace period (settings.subscription_grace_days after the renewal
   was due) is over → expired;
3. due renewals (and daily retries of past-due ones) → a renewal payment charged to the saved card
   (payments.charge_saved); its paid / declined event extends the period or makes it past due.
A renewal is idempotent per period and attempt: its payment key names both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.payments import service as payments
from smile.billing.payments.models import Payment
from smile.billing.payments.provider import Recurring
from smile.billing.subscriptions import service
from smile.billing.subscriptions.models import LIVE, Plan, Subscription
from smile.billing.subscriptions.periods import add_interval
from smile.billing.subscriptions.plans import get_plan
from smile.kit.db import utcnow

log = structlog.get_logger("smile.billing.subscriptions")

NOT_STRIPE = or_(Subscription.provider.is_(None), Subscription.provider != "stripe")


@dataclass
class Run:
    canceled: int = 0
    expired: int = 0
    charged: int = 0
    extended: int = 0  # renewed without a charge (a free plan, or paid by carried credit)


async def renewal_checkout(
    db: AsyncSession, sub: Subscription, plan: Plan, *, key: str, recurring: bool = True
) -> Payment:
    """A payment for the subscription's next period: the plan's price less carried credit."""
    credit_used = min(sub.credit, plan.price)
    return await payments.start_checkout(
        db,
        sub.user_id,
        purpose=service.PURPOSE,
        reference_id=str(sub.id),
        amount=plan.price - credit_used,
        currency=plan.currency,
        description=f"{plan.name} renewal",
        key=key,
        success_url=f"{service.PAGE}?checkout=success",
        cancel_url=f"{service.PAGE}?checkout=canceled",
        recurring=Recurring(interval=plan.interval, trial_days=0, plan_ref=str(plan.id)) if recurring else None,
        data={
            "kind": "renewal",
            "subscription_id": str(sub.id),
            "plan_id": str(plan.id),
            "period_end": service._period_key(sub),
            "credit_used": credit_used,
        },
    )


async def run(db: AsyncSession, now: dt.datetime | None = None, batch: int = 200) -> Run:
    now = now or utcnow()
    done = Run()
    done.canceled = len(
        (
            await db.execute(
                update(Subscription)
                .where(
                    Subscription.status.in_(LIVE),
                    Subscription.cancel_at_period_end,
                    Subscription.current_period_end <= now,
                )
                .values(
                    status="canceled",
                    ended_at=Subscription.current_period_end,
                    cancel_at_period_end=False,
                    renewal_payment_id=None,
                    next_attempt_at=None,
                )
                .returning(Subscription.id)
            )
        ).all()
    )
    done.expired = len(
        (
            await db.execute(
                update(Subscription)
                .where(
                    Subscription.status == "past_due", NOT_STRIPE, Subscription.past_due_since <= now - service.grace()
                )
                .values(status="expired", ended_at=now, renewal_payment_id=None, next_attempt_at=None)
                .returning(Subscription.id)
            )
        ).all()
    )
    due = (
        await db.scalars(
            select(Subscription)
            .where(
                NOT_STRIPE,
                Subscription.renewal_payment_id.is_(None),
                ~Subscription.cancel_at_period_end,
                or_(
                    and_(Subscription.status.in_(("trialing", "active")), Subscription.current_period_end <= now),
                    and_(Subscription.status == "past_due", Subscription.next_attempt_at <= now),
                ),
            )
            .order_by(Subscription.current_period_end)
            .limit(batch)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    ).all()
    for sub in due:
        try:
            async with db.begin_nested():  # one failing renewal does not hold up the others
                charged = await _renew(db, sub)
        except Exception:
            log.exception("subscription_renewal_failed", subscription=str(sub.id))
            continue
        if charged:
            done.charged += 1
        else:
            done.extended += 1
    if done.canceled or done.expired or due:
        log.info("subscriptions_renewal_run", **done.__dict__)
    return done


async def _renew(db: AsyncSession, sub: Subscription) -> bool:
    """Charge the saved card for the next period (True), or extend at once when nothing is due (False)."""
    plan = await get_plan(db, sub.plan_id)
    if plan.price - min(sub.credit, plan.price) == 0:
        start = sub.current_period_end
        sub.credit -= min(sub.credit, plan.price)
        sub.status, sub.current_period_start = "active", start
        sub.current_period_end = add_interval(start, plan.interval)
        sub.past_due_since, sub.renewal_attempts, sub.next_attempt_at = None, 0, None
        await db.flush()
        return False
    attempt = sub.renewal_attempts + 1
    payment = await renewal_checkout(
        db, sub, plan, recurring=False, key=f"subscription:{sub.id}:renewal:{service._period_key(sub)}:{attempt}"
    )
    sub.renewal_payment_id, sub.renewal_attempts, sub.next_attempt_at = payment.id, attempt, None
    await db.flush()
    if payment.status == "pending":
        await payments.charge_saved(db, payment)
    return True
