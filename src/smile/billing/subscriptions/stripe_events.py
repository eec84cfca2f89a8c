"""Stripe drives its own subscriptions: its invoice and subscription events move our state machine.

- invoice.paid (a renewal or a prorated change) → booked once per invoice, period from the invoice;
- invoice.payment_failed → past_due;
- customer.subscription.updated → status, period, cancel at period end and plan, from the newest event;
- customer.subscription.deleted → canceled (expired when it ended unpaid).
The first invoice of a subscription is booked by the checkout's paid hook, not here.
"""

from __future__ import annotations

import datetime as dt
import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import Leg
from smile.billing.payments import hooks
from smile.billing.payments.events import NotYet
from smile.billing.subscriptions import service
from smile.billing.subscriptions.models import LIVE, Plan, Subscription
from smile.kit.db import utcnow

log = structlog.get_logger("smile.billing.subscriptions")

STATUS = {
    "trialing": "trialing",
    "active": "active",
    "past_due": "past_due",
    "unpaid": "past_due",
    "canceled": "canceled",
    "incomplete_expired": "expired",
}


def _ts(value) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(value), dt.UTC) if value else None


def _id(value) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


def _invoice_subscription(inv: dict) -> str | None:
    ref = _id(inv.get("subscription"))
    if not ref:  # API versions from 2025-03 name it under parent
        ref = _id(((inv.get("parent") or {}).get("subscription_details") or {}).get("subscription"))
    return ref


def _invoice_metadata(inv: dict) -> dict:
    """The metadata of the subscription an invoice belongs to (we set payment_id and purpose on it)."""
    details = inv.get("subscription_details") or (inv.get("parent") or {}).get("subscription_details") or {}
    return details.get("metadata") or {}


async def _find(db: AsyncSession, obj_ref: str | None, metadata: dict | None = None) -> Subscription | None:
    if obj_ref and (sub := await service.by_provider_ref(db, "stripe", obj_ref)):
        return sub
    first = (metadata or {}).get("payment_id")
    if first:
        try:
            return await db.scalar(
                select(Subscription)
                .where(Subscription.first_payment_id == uuid.UUID(first))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        except ValueError:
            return None
    return None


@hooks.event("invoice.paid")
async def invoice_paid(db: AsyncSession, source: str, event: dict) -> None:
    inv = event["data"]["object"]
    ref = _invoice_subscription(inv)
    if source != "stripe" or not ref or inv.get("billing_reason") == "subscription_create":
        return
    meta = _invoice_metadata(inv)
    sub = await _find(db, ref, meta)
    if sub is None:
        if meta.get("purpose") == service.PURPOSE:  # ours, but its checkout has not been handled yet
            raise NotYet("the subscription this invoice renews is not recorded yet")
        log.info("invoice_not_ours", invoice=inv.get("id"), subscription=ref)
        return
    amount, currency = int(inv.get("amount_paid") or 0), str(inv.get("currency") or "").upper()
    if amount > 0:
        clearing = await ledger.platform(db, ledger.CLEARING, currency)
        revenue = await ledger.platform(db, ledger.REVENUE, currency)
        await ledger.post(
            db,
            "subscription_payment",
            [Leg(clearing, -amount), Leg(revenue, amount)],
            key=f"stripe:invoice:{inv['id']}:paid",
            reference=("subscription", sub.id),
            memo=f"Subscription invoice {inv['id']}",
            data={"user_id": str(sub.user_id), "invoice": inv["id"], "billing_reason": inv.get("billing_reason")},
        )
    lines = (inv.get("lines") or {}).get("data") or []
    period = (lines[-1].get("period") if lines else None) or {}
    end = _ts(period.get("end") or inv.get("period_end"))
    if sub.status in LIVE and end and end > sub.current_period_end:
        sub.current_period_start = _ts(period.get("start")) or sub.current_period_end
        sub.current_period_end = end
    if sub.status in LIVE:
        sub.status, sub.past_due_since = "active", None
    await db.flush()


@hooks.event("invoice.payment_failed")
async def invoice_failed(db: AsyncSession, source: str, event: dict) -> None:
    inv = event["data"]["object"]
    ref = _invoice_subscription(inv)
    if source != "stripe" or not ref:
        return
    sub = await _find(db, ref)
    if sub is None or sub.status not in LIVE:
        return
    sub.status = "past_due"
    sub.past_due_since = sub.past_due_since or min(sub.current_period_end, utcnow())
    await db.flush()


@hooks.event("customer.subscription.updated")
async def subscription_updated(db: AsyncSession, source: str, event: dict) -> None:
    obj = event["data"]["object"]
    if source != "stripe":
        return
    sub = await _find(db, obj.get("id"), obj.get("metadata"))
    if sub is None or (sub.provider_synced_at or 0) > int(event.get("created") or 0):
        return  # not ours (or not yet: the checkout's paid hook creates it), or older than what we applied
    status = STATUS.get(obj.get("status") or "")
    if status is None:
        return  # incomplete: the checkout has not finished
    item = ((obj.get("items") or {}).get("data") or [{}])[0]
    start = _ts(obj.get("current_period_start") or item.get("current_period_start"))
    end = _ts(obj.get("current_period_end") or item.get("current_period_end"))
    if start and end:
        sub.current_period_start, sub.current_period_end = start, end
    sub.trial_end = _ts(obj.get("trial_end")) or sub.trial_end
    sub.cancel_at_period_end = bool(obj.get("cancel_at_period_end"))
    sub.canceled_at = _ts(obj.get("canceled_at")) if sub.cancel_at_period_end else None
    if status == "past_due" and sub.status != "past_due":
        sub.past_due_since = sub.past_due_since or min(sub.current_period_end, utcnow())
    elif status in ("trialing", "active"):
        sub.past_due_since = None
    if sub.status in LIVE:  # an ended subscription never comes back
        sub.status = status
        if status not in LIVE:
            sub.ended_at = _ts(obj.get("ended_at")) or utcnow()
    if plan := await _plan_of(db, item, sub):
        sub.plan_id = plan.id
    sub.provider_synced_at = int(event.get("created") or 0)
    await db.flush()


@hooks.event("customer.subscription.deleted")
async def subscription_deleted(db: AsyncSession, source: str, event: dict) -> None:
    obj = event["data"]["object"]
    if source != "stripe":
        return
    sub = await _find(db, obj.get("id"), obj.get("metadata"))
    if sub is None or sub.status not in LIVE:
        return
    sub.status = "expired" if sub.status == "past_due" else "canceled"
    sub.ended_at = _ts(obj.get("ended_at")) or utcnow()
    sub.canceled_at = sub.canceled_at or _ts(obj.get("canceled_at")) or sub.ended_at
    sub.cancel_at_period_end = False
    sub.provider_synced_at = max(sub.provider_synced_at or 0, int(event.get("created") or 0))
    await db.flush()


async def _plan_of(db: AsyncSession, item: dict, sub: Subscription) -> Plan | None:
    """Our plan named by the price's product metadata (a change made in the portal), if any."""
    price = item.get("price") or item.get("plan") or {}
    product = price.get("product") if isinstance(price.get("product"), dict) else {}
    ref = (price.get("metadata") or {}).get("plan") or (product.get("metadata") or {}).get("plan")
    try:
        plan = await db.get(Plan, uuid.UUID(ref)) if ref else None
    except ValueError:
        return None
    if plan is None or (plan.owner_id, plan.product_type) != (sub.owner_id, sub.product_type):
        return None
    return plan
