"""How the other billing areas plug into payments.

payments owns Payment rows, provider calls and webhook events. When a payment's state changes,
it calls the handler registered for the payment's `purpose` inside the same database transaction
that records the change, exactly once per change:

    @hooks.paid("credits")
    async def credits_paid(db, payment): ...          # post the ledger transaction, grant what was bought

    @hooks.refunded("credits")
    async def credits_refunded(db, payment, amount, key): ...   # reverse what the refund undoes

    @hooks.failed("subscription")
    async def renewal_failed(db, payment): ...         # declined or expired

Processor events payments itself does not understand (e.g. Stripe subscription lifecycle events)
go to handlers registered per event type:

    @hooks.event("customer.subscription.updated")
    async def on_sub_updated(db, source, event): ...   # event is the verified event dict

Handlers must be idempotent (the event pipeline guarantees once, but handlers also run on retries
of a failed job, inside a fresh transaction).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.payments.models import Payment

PaidHandler = Callable[[AsyncSession, Payment], Awaitable[None]]
RefundHandler = Callable[[AsyncSession, Payment, int, str], Awaitable[None]]
EventHandler = Callable[[AsyncSession, str, dict], Awaitable[None]]

PAID: dict[str, PaidHandler] = {}
FAILED: dict[str, PaidHandler] = {}
REFUNDED: dict[str, RefundHandler] = {}
EVENTS: dict[str, list[EventHandler]] = {}


def paid(purpose: str):
    def register(fn: PaidHandler) -> PaidHandler:
        PAID[purpose] = fn
        return fn

    return register


def failed(purpose: str):
    def register(fn: PaidHandler) -> PaidHandler:
        FAILED[purpose] = fn
        return fn

    return register


def refunded(purpose: str):
    def register(fn: RefundHandler) -> RefundHandler:
        REFUNDED[purpose] = fn
        return fn

    return register


def event(event_type: str):
    def register(fn: EventHandler) -> EventHandler:
        EVENTS.setdefault(event_type, []).append(fn)
        return fn

    return register
