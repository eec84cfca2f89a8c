"""A test-only payment purpose ("test_goods") whose hooks post ledger transactions.

Imported by the payment tests, and by the `smile worker` subprocess of the kill test, so the
same hooks run wherever the events are handled. Each hook's ledger key makes it count once.
"""

from __future__ import annotations

from smile.billing.ledger import service as ledger
from smile.billing.payments import hooks

PURPOSE = "test_goods"


@hooks.paid(PURPOSE)
async def _paid(db, payment) -> None:
    clearing = await ledger.platform(db, ledger.CLEARING, payment.currency)
    revenue = await ledger.platform(db, ledger.REVENUE, payment.currency)
    await ledger.post(
        db,
        "test_sale",
        [ledger.Leg(clearing, -payment.amount), ledger.Leg(revenue, payment.amount)],
        key=f"payment:{payment.id}:paid",
        reference=("payment", payment.id),
    )


@hooks.failed(PURPOSE)
async def _failed(db, payment) -> None:
    promotions = await ledger.platform(db, ledger.PROMOTIONS, ledger.CREDITS)
    wallet = await ledger.wallet(db, payment.user_id)  # a consolation credit marks that FAILED ran once
    await ledger.post(
        db,
        "test_failed",
        [ledger.Leg(promotions, -1), ledger.Leg(wallet, 1)],
        key=f"payment:{payment.id}:failed",
        reference=("payment", payment.id),
    )


@hooks.refunded(PURPOSE)
async def _refunded(db, payment, amount, key) -> None:
    clearing = await ledger.platform(db, ledger.CLEARING, payment.currency)
    revenue = await ledger.platform(db, ledger.REVENUE, payment.currency)
    await ledger.post(
        db,
        "test_refund",
        [ledger.Leg(revenue, -amount), ledger.Leg(clearing, amount)],
        key=key,
        reference=("payment", payment.id),
    )


SLOW = "test_slow"


@hooks.paid(SLOW)
async def _paid_slowly(db, payment) -> None:
    """Like test_goods, but takes a while inside the transaction (the kill test needs work in flight)."""
    import asyncio

    await asyncio.sleep(0.2)
    await _paid(db, payment)
