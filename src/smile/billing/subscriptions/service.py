"""Subscriptions: subscribe, cancel, resume, change plan, and `entitlements`, the one answer to
"what may this user do".

Payments drive the state machine: the first checkout's paid hook starts the subscription (trialing
when the plan has a trial), renewals (billing.subscriptions.renewals) and Stripe's invoice and
subscription events (billing.subscriptions.stripe_events) keep it going.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, exists, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.payments import service as payments
from smile.billing.payments.models import Payment
from smile.billing.payments.provider import Recurring
from smile.billing.subscriptions.models import LIVE, PLATFORM, Plan, Subscription
from smile.billing.subscriptions.periods import Proration, add_interval, prorate
from smile.billing.subscriptions.plans import FREE, find_plan, free_plan, get_plan
from smile.identity import audit
from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.errors import Conflict, Invalid, NotFound
from smile.kit.ids import new_id
from smile.kit.pagination import keyset, page_of

PURPOSE = "subscription"  # payments' purpose for every subscription charge
PAGE = "/billing/subscription"


def grace() -> dt.timedelta:
    return dt.timedelta(days=runtime.current().settings.subscription_grace_days)


def _owner_is(column, owner_id: uuid.UUID | None):
    return column.is_(None) if owner_id is None else column == owner_id


async def entitlements(db: AsyncSession, user_id: uuid.UUID, now: dt.datetime | None = None) -> set[str]:
    """What the user may do: Free's entitlements, plus those of each plan they hold.

    Trialing and active plans count until their period ends (or, waiting for a renewal, through the
    grace period); a past-due plan counts through the grace period after its period ended.
    """
    now = now or utcnow()
    free = await free_plan(db)
    granted = set(free.entitlements if free else [])
    rows = await db.execute(
        select(
            Plan.entitlements, Subscription.status, Subscription.current_period_end, Subscription.cancel_at_period_end
        )
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(Subscription.user_id == user_id, Subscription.status.in_(LIVE))
    )
    for ents, _status, end, canceling in rows:
        if canceling and end <= now:
            continue
        if end + grace() > now:
            granted.update(ents)
    return granted


async def live(
    db: AsyncSession,
    user_id: uuid.UUID,
    owner_id: uuid.UUID | None = None,
    product_type: str = PLATFORM,
    *,
    lock: bool = False,
) -> Subscription | None:
    """The user's live (trialing, active or past-due) subscription among an owner's plans."""
    stmt = select(Subscription).where(
        Subscription.user_id == user_id,
        _owner_is(Subscription.owner_id, owner_id),
        Subscription.product_type == product_type,
        Subscription.status.in_(LIVE),
    )
    return await db.scalar(stmt.with_for_update() if lock else stmt)


async def mine(db: AsyncSession, user_id: uuid.UUID, cursor: str | None, limit: int):
    """The user's subscriptions, newest first, each with its plan."""
    rows, next_cursor = page_of(
        list(
            (
                await db.execute(
                    keyset(
                        select(Subscription, Plan)
                        .join(Plan, Plan.id == Subscription.plan_id)
                        .where(Subscription.user_id == user_id),
                        Subscription.id,
                        cursor,
                        limit,
                    )
                )
            ).all()
        ),
        limit,
        id_of=lambda row: row[0].id,
    )
    return [(s, p) for s, p in rows], next_cursor


async def get(db: AsyncSession, user_id: uuid.UUID | None, sub_id: uuid.UUID, *, lock: bool = False) -> Subscription:
    """A subscription of this user (None: any user, for admins); another user's answers 404."""
    stmt = select(Subscription).where(Subscription.id == sub_id).execution_options(populate_existing=True)
    if user_id is not None:
        stmt = stmt.where(Subscription.user_id == user_id)
    sub = await db.scalar(stmt.with_for_update() if lock else stmt)
    if sub is None:
        raise NotFound("No such subscription.")
    return sub


def _provider(sub: Subscription):
    return payments.provider_for(sub.provider) if sub.provider and sub.provider_ref else None


def _period_key(sub: Subscription) -> str:
    return sub.current_period_end.strftime("%Y%m%dT%H%M%S")


# ---- subscribe ----------------------------------------------------------------------------------


async def subscribe(
    db: AsyncSession, user_id: uuid.UUID, plan_ref: str, *, key: str | None = None
) -> tuple[Payment | None, Subscription | None]:
    """Start a checkout for a plan (returns the payment; send the buyer to its checkout_url).

    A free plan of a seller starts at once (returns the subscription). Everyone has the platform's
    Free plan without subscribing.
    """
    plan = await find_plan(db, plan_ref)
    if not plan.active:
        raise Conflict("This plan is no longer offered.", code="plan_retired")
    if plan.owner_id is None and plan.product_type == PLATFORM and plan.code == FREE:
        raise Invalid(
            "Everyone has the Free plan; there is nothing to subscribe to. To leave a paid plan, cancel it.",
            fields={"plan": "free"},
        )
    if plan.owner_id == user_id:
        raise Invalid("You cannot subscribe to your own plan.", fields={"plan": "own plan"})
    await runtime.current().limiter.hit(
        runtime.current().settings.rate_purchase, "subscribe", str(user_id), message="Too many checkouts started."
    )
    current = await live(db, user_id, plan.owner_id, plan.product_type)
    if current is not None:
        held = await get_plan(db, current.plan_id)
        raise Conflict(
            f"You already have {held.name} ({current.status.replace('_', ' ')}); change plan instead.",
            code="already_subscribed",
        )
    if plan.price == 0:
        return None, await _create(db, user_id, plan, utcnow(), trial_days=0, payment=None)
    had_before = await db.scalar(
        select(
            exists().where(
                Subscription.user_id == user_id,
                _owner_is(Subscription.owner_id, plan.owner_id),
                Subscription.product_type == plan.product_type,
            )
        )
    )
    trial = 0 if had_before else plan.trial_days  # one trial per user and plan family
    payment = await payments.start_checkout(
        db,
        user_id,
        purpose=PURPOSE,
        reference_id=str(plan.id),
        amount=plan.price,
        currency=plan.currency,
        description=f"{plan.name} subscription" + (f" ({trial}-day free trial)" if trial else ""),
        key=key or f"subscription:{user_id}:{plan.id}:{new_id()}",
        success_url=f"{PAGE}?checkout=success",
        cancel_url=f"{PAGE}?checkout=canceled",
        recurring=Recurring(interval=plan.interval, trial_days=trial, plan_ref=str(plan.id)),
        data={"kind": "start", "plan_id": str(plan.id), "trial_days": trial},
    )
    return payment, None


async def _create(
    db: AsyncSession, user_id: uuid.UUID, plan: Plan, now: dt.datetime, *, trial_days: int, payment: Payment | None
) -> Subscription | None:
    """Insert the live subscription; None when the user already has one among these plans."""
    end = now + dt.timedelta(days=trial_days) if trial_days else add_interval(now, plan.interval)
    sub_id = await db.scalar(
        insert(Subscription)
        .values(
            id=new_id(),
            user_id=user_id,
            plan_id=plan.id,
            owner_id=plan.owner_id,
            product_type=plan.product_type,
            status="trialing" if trial_days else "active",
            current_period_start=now,
            current_period_end=end,
            trial_end=end if trial_days else None,
            provider=payment.provider if payment else None,
            provider_ref=payment.subscription_ref if payment else None,
            customer_ref=payment.customer_ref if payment else None,
            first_payment_id=payment.id if payment else None,
        )
        .on_conflict_do_nothing(
            index_elements=["user_id", "owner_id", "product_type"],
            index_where=text("status IN ('trialing', 'active', 'past_due')"),
        )
        .returning(Subscription.id)
    )
    return await get(db, None, sub_id) if sub_id else None


# ---- cancel, resume, admin cancel ----------------------------------------------------------------


async def cancel(
    db: AsyncSession, user_id: uuid.UUID, sub_id: uuid.UUID, now: dt.datetime | None = None
) -> Subscription:
    """Cancel at the end of the period already paid for (a past-due subscription ends now)."""
    now = now or utcnow()
    sub = await get(db, user_id, sub_id, lock=True)
    if sub.status not in LIVE:
        raise Conflict(f"This subscription has already ended ({sub.status}).", code="subscription_ended")
    if sub.status == "past_due":
        if prov := _provider(sub):
            await prov.cancel_subscription(sub.provider_ref, at_period_end=False, key=f"subscription:{sub.id}:end")
        return await _end(db, sub, now, "canceled")
    if sub.cancel_at_period_end:
        return sub
    if prov := _provider(sub):
        await prov.cancel_subscription(
            sub.provider_ref, at_period_end=True, key=f"subscription:{sub.id}:cancel:{int(now.timestamp())}"
        )
    sub.cancel_at_period_end, sub.canceled_at = True, now
    await db.flush()
    return sub


async def resume(
    db: AsyncSession, user_id: uuid.UUID, sub_id: uuid.UUID, now: dt.datetime | None = None
) -> Subscription:
    """Undo a cancel at period end, while the period lasts."""
    now = now or utcnow()
    sub = await get(db, user_id, sub_id, lock=True)
    if sub.status not in LIVE or sub.current_period_end <= now:
        raise Conflict("This subscription has ended; subscribe again instead.", code="subscription_ended")
    if not sub.cancel_at_period_end:
        return sub
    if prov := _provider(sub):
        await prov.resume_subscription(sub.provider_ref, key=f"subscription:{sub.id}:resume:{int(now.timestamp())}")
    sub.cancel_at_period_end, sub.canceled_at = False, None
    await db.flush()
    return sub


async def admin_cancel(
    db: AsyncSession,
    admin_id: uuid.UUID,
    sub_id: uuid.UUID,
    reason: str,
    *,
    ip: str = "",
    now: dt.datetime | None = None,
) -> Subscription:
    """End a subscription at once (admins; audited). Refunds, if owed, are made on the payment."""
    now = now or utcnow()
    sub = await get(db, None, sub_id, lock=True)
    if sub.status not in LIVE:
        raise Conflict(f"This subscription has already ended ({sub.status}).", code="subscription_ended")
    if prov := _provider(sub):
        await prov.cancel_subscription(sub.provider_ref, at_period_end=False, key=f"subscription:{sub.id}:end")
    await audit.record(
        db,
        admin_id,
        "subscription_cancel",
        sub.id,
        target_type="subscription",
        ip=ip,
        user_id=str(sub.user_id),
        reason=reason,
    )
    return await _end(db, sub, now, "canceled")


async def end_for_erasure(db: AsyncSession, user_id: uuid.UUID, now: dt.datetime | None = None) -> int:
    """An erased account: its own live subscriptions end now (and at the processor: no charge again); other
    people's subscriptions to its plans end with the period they paid for. Returns how many changed."""
    now = now or utcnow()
    changed = 0
    for sub in await db.scalars(
        select(Subscription).where(Subscription.user_id == user_id, Subscription.status.in_(LIVE)).with_for_update()
    ):
        if prov := _provider(sub):
            await prov.cancel_subscription(sub.provider_ref, at_period_end=False, key=f"subscription:{sub.id}:end")
        await _end(db, sub, now, "canceled")
        changed += 1
    for sub_id, subscriber in (
        await db.execute(
            select(Subscription.id, Subscription.user_id).where(
                Subscription.owner_id == user_id,
                Subscription.status.in_(LIVE),
                Subscription.cancel_at_period_end.is_(False),
            )
        )
    ).all():
        await cancel(db, subscriber, sub_id, now)
        changed += 1
    return changed


async def _end(db: AsyncSession, sub: Subscription, at: dt.datetime, status: str) -> Subscription:
    sub.status, sub.ended_at, sub.cancel_at_period_end = status, at, False
    sub.canceled_at = sub.canceled_at or (at if status == "canceled" else None)
    sub.renewal_payment_id, sub.next_attempt_at = None, None
    await db.flush()
    return sub


# ---- change plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    subscription: Subscription
    current: Plan
    target: Plan
    proration: Proration
    keeps_trial: bool  # a change during a free trial: no charge, the trial goes on


async def quote(
    db: AsyncSession,
    user_id: uuid.UUID,
    sub_id: uuid.UUID,
    plan_ref: str,
    now: dt.datetime | None = None,
    *,
    lock: bool = False,
) -> Quote:
    """What moving to another plan now costs (upgrade) or leaves as credit (downgrade)."""
    now = now or utcnow()
    sub = await get(db, user_id, sub_id, lock=lock)
    current, target = await get_plan(db, sub.plan_id), await find_plan(db, plan_ref)
    if sub.status == "past_due":
        raise Conflict("The last renewal failed; pay it before changing plans.", code="past_due")
    if sub.status not in LIVE:
        raise Conflict("This subscription has ended; subscribe again instead.", code="subscription_ended")
    if sub.renewal_payment_id is not None:
        raise Conflict("A renewal payment is being processed; try again in a minute.", code="renewal_in_progress")
    if target.id == current.id:
        raise Invalid("That is already your plan.", fields={"plan": "same plan"})
    if (target.owner_id, target.product_type) != (current.owner_id, current.product_type) or not target.active:
        raise Invalid("You can only change to another current plan of the same offer.", fields={"plan": "invalid"})
    if target.owner_id is None and target.product_type == PLATFORM and target.code == FREE:
        raise Invalid(
            "To move to Free, cancel your subscription: it ends when the paid period does.", fields={"plan": "free"}
        )
    if target.currency != current.currency:
        raise Invalid("The new plan is billed in another currency.", fields={"plan": "currency"})
    if sub.status == "trialing":
        return Quote(sub, current, target, Proration(0, sub.credit, 0, sub.credit), keeps_trial=True)
    p = prorate(current.price, target.price, sub.current_period_start, sub.current_period_end, now, sub.credit)
    return Quote(sub, current, target, p, keeps_trial=False)


async def change_plan(
    db: AsyncSession,
    user_id: uuid.UUID,
    sub_id: uuid.UUID,
    plan_ref: str,
    *,
    key: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[Quote, Payment | None]:
    """Move to another plan: at once when nothing is due, else after paying the amount due (checkout)."""
    now = now or utcnow()
    q = await quote(db, user_id, sub_id, plan_ref, now, lock=True)
    sub = q.subscription
    if sub.provider == "stripe":
        raise Conflict("Change plans in the billing portal; the processor prorates the change.", code="use_portal")
    if q.proration.amount_due == 0:
        _switch(sub, q.target, now, q.proration.credit_after, keep_period=q.keeps_trial)
        await db.flush()
        return q, None
    payment = await payments.start_checkout(
        db,
        user_id,
        purpose=PURPOSE,
        reference_id=str(sub.id),
        amount=q.proration.amount_due,
        currency=q.target.currency,
        description=f"Change to {q.target.name} (prorated)",
        key=key or f"subscription:{sub.id}:change:{q.target.id}:{new_id()}",
        success_url=f"{PAGE}?checkout=success",
        cancel_url=f"{PAGE}?checkout=canceled",
        recurring=Recurring(interval=q.target.interval, trial_days=0, plan_ref=str(q.target.id)),
        data={
            "kind": "change",
            "subscription_id": str(sub.id),
            "plan_id": str(q.target.id),
            "from_plan_id": str(q.current.id),
            "period_end": _period_key(sub),
            "credit_after": q.proration.credit_after,
        },
    )
    return q, payment


def _switch(sub: Subscription, plan: Plan, now: dt.datetime, credit: int, *, keep_period: bool) -> None:
    sub.plan_id, sub.credit, sub.cancel_at_period_end, sub.canceled_at = plan.id, credit, False, None
    sub.renewal_payment_id = None
    if not keep_period:
        sub.status, sub.current_period_start = "active", now
        sub.current_period_end = add_interval(now, plan.interval)
        sub.renewal_attempts, sub.next_attempt_at, sub.past_due_since = 0, None, None


async def pay_overdue(db: AsyncSession, user_id: uuid.UUID, sub_id: uuid.UUID, *, key: str | None = None) -> Payment:
    """A checkout for a past-due renewal (e.g. with another card); paying it renews the subscription."""
    from smile.billing.subscriptions.renewals import renewal_checkout

    sub = await get(db, user_id, sub_id, lock=True)
    if sub.status != "past_due":
        raise Conflict("Nothing is overdue on this subscription.", code="not_past_due")
    if sub.provider == "stripe":
        raise Conflict("Update your card in the billing portal; the processor retries the payment.", code="use_portal")
    return await renewal_checkout(
        db,
        sub,
        await get_plan(db, sub.plan_id),
        key=key or f"subscription:{sub.id}:renewal:{_period_key(sub)}:{new_id()}",
    )


async def portal(db: AsyncSession, user_id: uuid.UUID, return_url: str) -> str:
    return await payments.portal_url(db, user_id, return_url)


async def by_provider_ref(db: AsyncSession, provider: str, ref: str, *, lock: bool = True) -> Subscription | None:
    stmt = (
        select(Subscription)
        .where(and_(Subscription.provider == provider, Subscription.provider_ref == ref))
        .order_by(Subscription.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )
    return await db.scalar(stmt.with_for_update() if lock else stmt)


# The payment hooks, the renewal job and the Stripe event handlers register on import.
from smile.billing.subscriptions import payment_hooks as _payment_hooks  # noqa: E402,F401
from smile.billing.subscriptions import stripe_events as _stripe_events  # noqa: E402,F401
