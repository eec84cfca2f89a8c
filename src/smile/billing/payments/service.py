"""Payments: checkouts, refunds, transfers, renewals of saved cards, and the webhook intake.

Money only moves in the ledger, from the hooks other areas register (billing.payments.hooks),
run by the event job (billing.payments.events) exactly once per state change.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

import structlog
from sqlalchemy import literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.payments import sandbox
from smile.billing.payments.models import Payment, PaymentEvent
from smile.billing.payments.provider import PaymentProvider, Recurring
from smile.kit import jobs, runtime
from smile.kit.errors import Conflict, Invalid, NotFound
from smile.kit.ids import new_id
from smile.kit.pagination import keyset, page_of

log = structlog.get_logger("smile.billing.payments")

SOURCES = ("sandbox", "stripe")
REFUNDABLE = ("paid", "partially_refunded")


@lru_cache(maxsize=4)
def _stripe(api_key: str, api_base: str | None, webhook_secret: str | None):
    from smile.billing.payments.stripe_provider import StripeProvider

    return StripeProvider(api_key, api_base=api_base, webhook_secret=webhook_secret)


def provider_for(source: str) -> PaymentProvider:
    """The provider named `source` (also the webhook source)."""
    if source == "sandbox":
        return sandbox.SandboxProvider()
    if source == "stripe":
        s = runtime.current().settings
        return _stripe(s.stripe_secret_key or "", s.stripe_api_base, s.stripe_webhook_secret)
    raise NotFound(f"Unknown payment provider {source!r}; use one of: {', '.join(SOURCES)}.")


def provider() -> PaymentProvider:
    """The configured provider (settings.payment_provider: sandbox by default, or stripe)."""
    return provider_for(runtime.current().settings.payment_provider)


async def get(db: AsyncSession, payment_id: uuid.UUID, *, lock: bool = False) -> Payment:
    stmt = select(Payment).where(Payment.id == payment_id).execution_options(populate_existing=True)
    payment = await db.scalar(stmt.with_for_update() if lock else stmt)
    if payment is None:
        raise NotFound("No such payment.")
    return payment


async def for_user(db: AsyncSession, user_id: uuid.UUID, payment_id: uuid.UUID) -> Payment:
    """A payment of this user (another user's answers 404)."""
    payment = await db.scalar(select(Payment).where(Payment.id == payment_id, Payment.user_id == user_id))
    if payment is None:
        raise NotFound("No such payment.")
    return payment


async def start_checkout(
    db: AsyncSession,
    user_id: uuid.UUID,
    *,
    purpose: str,
    reference_id: str,
    amount: int,
    currency: str,
    description: str,
    key: str,
    success_url: str,
    cancel_url: str,
    recurring: Recurring | None = None,
    data: dict | None = None,
) -> Payment:
    """Create (or, for a key seen before, return) a pending payment and its hosted checkout."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise Invalid("The amount must be a positive whole number of minor units.", fields={"amount": "invalid"})
    currency = currency.upper()
    if len(currency) != 3 or not currency.isalpha():
        raise Invalid("The currency must be a 3-letter code.", fields={"currency": "invalid"})
    prov = provider()
    extra: dict[str, Any] = {**(data or {}), "success_url": success_url, "cancel_url": cancel_url}
    if recurring:
        extra["recurring"] = {
            "interval": recurring.interval,
            "trial_days": recurring.trial_days,
            "plan_ref": recurring.plan_ref,
        }
    inserted = await db.scalar(
        insert(Payment)
        .values(
            id=new_id(),
            user_id=user_id,
            purpose=purpose,
            reference_id=str(reference_id)[:100],
            description=description[:300],
            amount=amount,
            currency=currency,
            mode="subscription" if recurring else "payment",
            provider=prov.name,
            idempotency_key=key,
            data=extra,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Payment.id)
    )
    payment = await db.scalar(
        select(Payment).where(Payment.idempotency_key == key).execution_options(populate_existing=True)
    )
    assert payment is not None
    if inserted is None:
        if (payment.user_id, payment.purpose, payment.amount, payment.currency) != (user_id, purpose, amount, currency):
            raise Conflict(
                "This idempotency key was already used for a different payment.", code="idempotency_key_reused"
            )
        if payment.checkout_url:
            return payment
    if payment.customer_ref is None:  # reuse the processor's customer of this user's earlier payments
        payment.customer_ref = await db.scalar(
            select(Payment.customer_ref)
            .where(Payment.user_id == user_id, Payment.provider == prov.name, Payment.customer_ref.is_not(None))
            .order_by(Payment.id.desc())
            .limit(1)
        )
    session = await prov.create_checkout(payment, success_url=success_url, cancel_url=cancel_url, recurring=recurring)
    payment.provider_ref, payment.checkout_url = session.provider_ref, session.url
    payment.customer_ref = session.customer_ref or payment.customer_ref
    await db.flush()
    return payment


async def refund(db: AsyncSession, payment_id: uuid.UUID, amount: int, *, key: str, reason: str = "") -> None:
    """Ask the processor to refund `amount` of a paid payment. hooks.REFUNDED runs once it is confirmed.

    Replaying `key` does nothing more; refunds may never add up to more than was paid.
    """
    payment = await get(db, payment_id, lock=True)
    requests: dict = dict(payment.data.get("refund_requests") or {})
    if key in requests:
        return
    if payment.status not in REFUNDABLE:
        raise Conflict(f"Only a paid payment can be refunded (this one is {payment.status}).")
    applied = payment.data.get("refunds") or {}
    pending = sum(r["amount"] for r in requests.values() if r["refund_id"] not in applied)
    available = payment.amount - payment.refunded - pending
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= available:
        raise Invalid(
            f"The refund must be between 1 and {available} (minor units) for this payment.",
            fields={"amount": "out of range"},
        )
    prov = provider_for(payment.provider)
    refund_id = await prov.refund(payment, amount, key=key)
    requests[key] = {"amount": amount, "refund_id": refund_id, "reason": reason[:200]}
    payment.data = {**payment.data, "refund_requests": requests}
    await db.flush()
    if prov.name == "sandbox":
        await sandbox.emit(
            db,
            sandbox.event(
                f"evt_{refund_id}",
                "charge.refunded",
                {
                    "id": f"ch_sbx_{payment.id.hex}",
                    "object": "charge",
                    "payment_intent": payment.charge_ref,
                    "amount": payment.amount,
                    "amount_refunded": payment.refunded + pending + amount,
                    "currency": payment.currency.lower(),
                    "metadata": {"payment_id": str(payment.id)},
                    "refunds": {
                        "object": "list",
                        "data": [
                            {
                                "id": refund_id,
                                "object": "refund",
                                "amount": amount,
                                "status": "succeeded",
                                "payment_intent": payment.charge_ref,
                                "reason": "requested_by_customer",
                                "metadata": {"payment_id": str(payment.id), "key": key},
                            }
                        ],
                    },
                },
            ),
        )


async def transfer(
    db: AsyncSession, *, amount: int, currency: str, destination: str, key: str, description: str
) -> str:
    """Send a payout (Stripe: a Connect transfer; sandbox: a fake id and a transfer.created event)."""
    if not isinstance(amount, int) or amount <= 0:
        raise Invalid("The transfer amount must be positive.", fields={"amount": "invalid"})
    prov = provider()
    transfer_id = await prov.transfer(
        amount=amount, currency=currency.upper(), destination=destination, key=key, description=description
    )
    if prov.name == "sandbox":
        await sandbox.emit(
            db,
            sandbox.event(
                f"evt_{transfer_id}",
                "transfer.created",
                {
                    "id": transfer_id,
                    "object": "transfer",
                    "amount": amount,
                    "currency": currency.lower(),
                    "destination": destination,
                    "description": description,
                    "metadata": {"key": key},
                },
            ),
        )
    return transfer_id


async def saved_card(db: AsyncSession, user_id: uuid.UUID) -> str | None:
    """The user's saved sandbox card: "ok", "declines", or None."""
    return await db.scalar(
        select(Payment.data["sandbox_card"].astext)
        .where(Payment.user_id == user_id, Payment.provider == "sandbox", Payment.data.has_key("sandbox_card"))
        .order_by(Payment.id.desc())
        .limit(1)
    )


async def remember_card(db: AsyncSession, payment: Payment, card: str) -> None:
    """Save the sandbox card used for `payment` ("ok", or "declines" to make renewals fail)."""
    payment.data = {**payment.data, "sandbox_card": card}
    await db.flush()


async def forget_card(db: AsyncSession, user_id: uuid.UUID) -> None:
    await db.execute(
        update(Payment)
        .where(Payment.user_id == user_id, Payment.provider == "sandbox")
        .values(data=Payment.data.op("-")(literal("sandbox_card")))
    )


async def charge_saved(db: AsyncSession, payment: Payment) -> None:
    """Sandbox: charge the buyer's saved card off-session for a renewal; emits paid or declined."""
    if payment.provider != "sandbox":
        raise Invalid("Saved cards are charged by Stripe itself for Stripe subscriptions.")
    card = await saved_card(db, payment.user_id)
    if payment.charge_ref is None:
        payment.charge_ref = f"pi_sbx_{payment.id.hex}"
        await db.flush()
    if card == "ok":
        await sandbox.emit(
            db,
            sandbox.event(
                f"evt_sbx_{payment.id.hex}_paid",
                "payment_intent.succeeded",
                sandbox.intent_object(payment, "succeeded"),
            ),
        )
    else:
        why = "Your card was declined." if card else "No saved card."
        await sandbox.emit(
            db,
            sandbox.event(
                f"evt_sbx_{payment.id.hex}_declined",
                "payment_intent.payment_failed",
                sandbox.intent_object(payment, "requires_payment_method", why),
            ),
        )


async def portal_url(db: AsyncSession, user_id: uuid.UUID, return_url: str) -> str:
    """Where the user manages saved cards and processor-side subscriptions."""
    customer = await db.scalar(
        select(Payment.customer_ref)
        .where(Payment.user_id == user_id, Payment.customer_ref.is_not(None), Payment.provider == provider().name)
        .order_by(Payment.id.desc())
        .limit(1)
    )
    if customer is None:
        raise NotFound("There is nothing to manage yet: no card has been used.")
    return await provider().portal_url(customer, return_url)


def _payment_id(event: dict) -> uuid.UUID | None:
    obj = (event.get("data") or {}).get("object") or {}
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    try:
        return uuid.UUID(str(meta["payment_id"])) if isinstance(meta, dict) and meta.get("payment_id") else None
    except ValueError:
        return None


async def receive(db: AsyncSession, source: str, body: bytes, signature: str | None) -> tuple[uuid.UUID, bool]:
    """Verify a webhook, store it once, and defer its handling in the same transaction.

    Returns (our event row id, duplicate). A duplicate is acknowledged and not handled again.
    """
    from smile.billing.payments import tasks

    event = provider_for(source).verify_event(body, signature)
    row_id = await db.scalar(
        insert(PaymentEvent)
        .values(
            id=new_id(),
            source=source,
            event_id=event["id"][:200],
            type=event["type"][:100],
            payload=event,
            payment_id=_payment_id(event),
        )
        .on_conflict_do_nothing(index_elements=["source", "event_id"])
        .returning(PaymentEvent.id)
    )
    if row_id is None:
        existing = await db.scalar(
            select(PaymentEvent.id).where(PaymentEvent.source == source, PaymentEvent.event_id == event["id"][:200])
        )
        return existing, True
    await jobs.defer(db, tasks.handle_event, event_id=str(row_id))
    log.info("payment_event_received", source=source, type=event["type"], event_id=event["id"])
    return row_id, False


async def history(
    db: AsyncSession, user_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[Payment], str | None]:
    rows = (
        await db.scalars(keyset(select(Payment).where(Payment.user_id == user_id), Payment.id, cursor, limit))
    ).all()
    return page_of(list(rows), limit)
