"""Handling stored processor events: exactly once each, in any order.

The job locks the event row, skips it when already handled, applies it and marks it handled in
one transaction. State changes are conditional UPDATEs, so a replay or a late duplicate changes
nothing; an event that depends on one not yet seen (a refund before the payment) raises NotYet,
is retried, and is re-queued as soon as the payment it waits for is paid.
"""

from __future__ import annotations

import datetime as dt
import uuid

import structlog
from sqlalchemy import String, Text, case, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.payments import hooks
from smile.billing.payments.models import Payment, PaymentEvent
from smile.kit import jobs, runtime
from smile.kit.db import utcnow

log = structlog.get_logger("smile.billing.payments")

PAID = ("checkout.session.completed", "checkout.session.async_payment_succeeded", "payment_intent.succeeded")
FAILED = ("checkout.session.async_payment_failed", "payment_intent.payment_failed", "checkout.session.expired")
REFUNDS = ("charge.refunded", "refund.created", "refund.updated")
SETTLED = ("paid", "partially_refunded", "refunded")


class NotYet(Exception):
    """The event needs another one handled first (retried with backoff)."""


async def handle(event_row_id: uuid.UUID) -> None:
    """The job: handle one stored event exactly once; failures are recorded and retried."""
    database = runtime.current().db
    try:
        async with database.session() as db:
            event = await db.scalar(
                select(PaymentEvent)
                .where(PaymentEvent.id == event_row_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            if event is None or event.handled_at is not None:
                return
            await dispatch(db, event)
            event.handled_at, event.attempts, event.last_error = utcnow(), event.attempts + 1, None
    except Exception as exc:
        async with database.session() as db:
            await db.execute(
                update(PaymentEvent)
                .where(PaymentEvent.id == event_row_id, PaymentEvent.handled_at.is_(None))
                .values(attempts=PaymentEvent.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000])
            )
        if not isinstance(exc, NotYet):
            log.exception("payment_event_failed", event=str(event_row_id))
        raise


async def dispatch(db: AsyncSession, event: PaymentEvent) -> None:
    payload, kind = event.payload, event.type
    obj = (payload.get("data") or {}).get("object") or {}
    if kind in PAID:
        await _paid(db, event, obj)
    elif kind in FAILED:
        await _failed(db, event, obj)
    elif kind in REFUNDS:
        await _refunds(db, event, obj)
    for handler in hooks.EVENTS.get(kind, []):
        await handler(db, event.source, payload)


async def _find(db: AsyncSession, source: str, obj: dict) -> Payment | None:
    meta = obj.get("metadata") or {}
    where = None
    if meta.get("payment_id"):
        try:
            where = Payment.id == uuid.UUID(str(meta["payment_id"]))
        except ValueError:
            return None
    elif obj.get("object") == "checkout.session":
        where = Payment.provider_ref == obj.get("id")
    elif obj.get("object") == "payment_intent":
        where = Payment.charge_ref == obj.get("id")
    elif obj.get("payment_intent"):
        where = Payment.charge_ref == obj["payment_intent"]
    if where is None:
        return None
    return await db.scalar(
        select(Payment)
        .where(where, Payment.provider == source)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _id(value) -> str | None:
    """A processor reference that may arrive expanded (an object) or as an id."""
    return value.get("id") if isinstance(value, dict) else value


async def _paid(db: AsyncSession, event: PaymentEvent, obj: dict) -> None:
    payment = await _find(db, event.source, obj)
    if payment is None:
        log.info("payment_event_not_ours", type=event.type, object=obj.get("id"))
        return
    is_session = obj.get("object") == "checkout.session"
    intent = _id(obj.get("payment_intent")) if is_session else obj.get("id")
    payment.charge_ref = payment.charge_ref or intent
    payment.customer_ref = payment.customer_ref or _id(obj.get("customer"))
    payment.subscription_ref = payment.subscription_ref or _id(obj.get("subscription"))
    await db.flush()
    if is_session and obj.get("payment_status") not in ("paid", "no_payment_required"):
        return  # an asynchronous method: checkout.session.async_payment_succeeded follows
    paid = obj.get("amount_total") if is_session else obj.get("amount_received", obj.get("amount"))
    if payment.mode == "payment" and paid is not None and paid != payment.amount:
        log.error("payment_amount_mismatch", payment=str(payment.id), expected=payment.amount, got=paid)
        return
    changed = await db.scalar(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status.in_(("pending", "declined")))
        .values(status="paid", paid_at=func.now())
        .returning(Payment.id)
    )
    if changed is None:
        return
    await db.refresh(payment)
    if handler := hooks.PAID.get(payment.purpose):
        await handler(db, payment)
    await _wake_waiting(db, payment.id, event.id)
    log.info("payment_paid", payment=str(payment.id), purpose=payment.purpose, amount=payment.amount)


async def _failed(db: AsyncSession, event: PaymentEvent, obj: dict) -> None:
    payment = await _find(db, event.source, obj)
    if payment is None:
        return
    status = "expired" if event.type == "checkout.session.expired" else "declined"
    error = (obj.get("last_payment_error") or {}).get("message") or status
    changed = await db.scalar(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == "pending")
        .values(status=status, data=Payment.data.op("||")(literal({"failure": str(error)[:300]}, JSONB)))
        .returning(Payment.id)
    )
    if changed is None:
        return
    await db.refresh(payment)
    if handler := hooks.FAILED.get(payment.purpose):
        await handler(db, payment)
    log.info("payment_failed", payment=str(payment.id), status=status)


async def _refunds(db: AsyncSession, event: PaymentEvent, obj: dict) -> None:
    payment = await _find(db, event.source, obj)
    if payment is None or payment.status not in SETTLED:
        raise NotYet("the refunded payment is not recorded as paid yet")
    if obj.get("object") == "refund":
        refunds = [obj]
    elif isinstance(obj.get("refunds"), dict) and obj["refunds"].get("data") is not None:
        refunds = obj["refunds"]["data"]
    else:  # newer API versions do not embed a charge's refunds: ask the processor
        from smile.billing.payments.service import provider_for

        refunds = await provider_for(event.source).list_refunds(obj["id"])  # type: ignore[attr-defined]
    for item in refunds:
        if item.get("status") == "succeeded":
            await _apply_refund(db, payment, item)


async def _apply_refund(db: AsyncSession, payment: Payment, item: dict) -> None:
    refund_id, amount = str(item["id"]), int(item["amount"])
    applied = func.coalesce(Payment.data["refunds"], literal({}, JSONB))
    new_total = Payment.refunded + amount
    changed = await db.scalar(
        update(Payment)
        .where(Payment.id == payment.id, ~applied.op("?")(literal(refund_id, String)), new_total <= Payment.amount)
        .values(
            refunded=new_total,
            status=case((new_total >= Payment.amount, "refunded"), else_="partially_refunded"),
            data=func.jsonb_set(
                Payment.data, literal(["refunds"], ARRAY(Text)), applied.op("||")(literal({refund_id: amount}, JSONB))
            ),
        )
        .returning(Payment.id)
    )
    if changed is None:
        return
    await db.refresh(payment)
    key = (item.get("metadata") or {}).get("key") or f"payment:{payment.id}:refund:{refund_id}"
    if handler := hooks.REFUNDED.get(payment.purpose):
        await handler(db, payment, amount, key)
    log.info("payment_refunded", payment=str(payment.id), amount=amount, refund=refund_id)


async def _wake_waiting(db: AsyncSession, payment_id: uuid.UUID, current: uuid.UUID) -> None:
    """Re-queue this payment's events that were waiting for it to be paid."""
    from smile.billing.payments import tasks

    waiting = (
        await db.scalars(
            select(PaymentEvent.id).where(
                PaymentEvent.payment_id == payment_id,
                PaymentEvent.handled_at.is_(None),
                PaymentEvent.id != current,
                PaymentEvent.attempts > 0,
            )
        )
    ).all()
    for event_id in waiting:
        await jobs.defer(db, tasks.handle_event, event_id=str(event_id))


async def stale(db: AsyncSession, older_than_seconds: int, limit: int = 500) -> list[uuid.UUID]:
    """Unhandled events older than the given age with no job waiting (e.g. theirs died with a killed worker)."""
    cutoff = utcnow() - dt.timedelta(seconds=older_than_seconds)
    return list(
        (
            await db.scalars(
                select(PaymentEvent.id)
                .where(
                    PaymentEvent.handled_at.is_(None),
                    PaymentEvent.received_at < cutoff,
                    PaymentEvent.attempts < 50,
                    text(
                        "NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.task_name = 'payments.handle_event' "
                        "AND j.status = 'todo' AND j.args->>'event_id' = payment_events.id::text)"
                    ),
                )
                .order_by(PaymentEvent.received_at)
                .limit(limit)
            )
        ).all()
    )
