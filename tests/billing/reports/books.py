"""A small, known set of books posted through the real ledger service, spread over days by backdating.

Days (UTC): D1 = Monday 2025-03-03, D2 = D1 + 1, D3 = D1 + 8 (the next ISO week). Money in USD cents.

D1  credit purchase paid by card 20.00 (200 credits); card sale 10.00 (fee 3.00, escrow 7.00)
D2  sale paid with 50 credits worth 5.00 (fee 1.50, escrow 3.50); 20 credits spent through a hold of 30
D3  the card sale refunded (reversed); subscription paid 9.99 and 1.99 of it refunded; escrow 3.50 released;
    payout 3.00 requested and paid; payout 0.50 requested (in transit); a hold of 10 credits left open
Plus payments that must not count: declined, pending, and a paid one in EUR.
"""

from __future__ import annotations

import datetime as dt
import uuid

from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import CREDITS, Leg

D1 = dt.date(2025, 3, 3)
D2 = D1 + dt.timedelta(days=1)
D3 = D1 + dt.timedelta(days=8)
USD = "USD"


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def add_payment(
    db, user_id, amount: int, status: str, paid_day: dt.date | None, currency: str = USD, purpose: str = "credits"
) -> uuid.UUID:
    pid = uuid.uuid4()
    db.execute(
        "INSERT INTO payments (id, user_id, purpose, reference_id, description, amount, currency, mode, provider, "
        "status, idempotency_key, paid_at, created_at, updated_at) VALUES (%s, %s, %s, 'ref', 'test', %s, %s, "
        "'payment', 'sandbox', %s, %s, %s, %s, now())",
        (pid, user_id, purpose, amount, currency, status, f"pay:{pid}", paid_day and at(paid_day), at(paid_day or D1)),
    )
    return pid


def backdate(db, keys_by_day: dict[dt.date, list[str]]) -> None:
    """Move transactions (by idempotency key) to noon of a day: the journal is append-only otherwise."""
    db.execute("SET smile.ledger_maintenance = 'on'")
    try:
        for day, keys in keys_by_day.items():
            db.execute(
                "UPDATE ledger_transactions SET created_at = %s WHERE idempotency_key = ANY(%s)", (at(day), keys)
            )
    finally:
        db.execute("RESET smile.ledger_maintenance")


def build(db, ledger_db, buyer, seller) -> dict:
    """Post the books; returns the transaction ids by name."""
    for amount, status, day, currency in [
        (2000, "paid", D1, USD),
        (1000, "refunded", D1, USD),
        (999, "partially_refunded", D3, USD),
        (700, "declined", None, USD),
        (800, "pending", None, USD),
        (5000, "paid", D2, "EUR"),
    ]:
        add_payment(db, buyer, amount, status, day, currency)

    async def post(database):
        ids = {}
        async with database.session() as s:
            clearing = await ledger.platform(s, ledger.CLEARING, USD)
            revenue = await ledger.platform(s, ledger.REVENUE, USD)
            revenue_crd = await ledger.platform(s, ledger.REVENUE, CREDITS)
            fees = await ledger.platform(s, ledger.FEES, USD)
            issuance = await ledger.platform(s, ledger.ISSUANCE, USD)
            issuance_crd = await ledger.platform(s, ledger.ISSUANCE, CREDITS)
            payouts = await ledger.platform(s, ledger.PAYOUTS, USD)
            wallet = await ledger.wallet(s, buyer)
            escrow = await ledger.account(s, seller, ledger.ESCROW, USD)
            earnings = await ledger.account(s, seller, ledger.EARNINGS, USD)

            async def tx(name, kind, legs, **kw):
                ids[name] = (await ledger.post(s, kind, legs, key=name, **kw)).transaction_id

            await tx(
                "purchase",
                "credit_purchase",
                [Leg(clearing, -2000), Leg(revenue, 2000), Leg(issuance_crd, -200), Leg(wallet, 200)],
                reference=("credit_package", "starter"),
                memo="Starter pack",
            )
            await tx(
                "card_sale", "sale", [Leg(clearing, -1000), Leg(fees, 300), Leg(escrow, 700)], reference=("sale", "s1")
            )
            await tx(
                "credit_sale",
                "sale",
                [Leg(wallet, -50), Leg(issuance_crd, 50), Leg(issuance, -500), Leg(fees, 150), Leg(escrow, 350)],
                reference=("sale", "s2"),
            )
            spend = await ledger.hold(s, wallet, 30, key="spend-hold", reference=("ai_call", "c1"))
            ids["spend"] = (await ledger.capture(s, spend, 20, revenue_crd, kind="credit_spend")).transaction_id
            ids["refund"] = (await ledger.reverse(s, ids["card_sale"], memo="Refund of s1")).transaction_id
            await tx("subscription", "subscription_payment", [Leg(clearing, -999), Leg(revenue, 999)])
            await tx("sub_refund", "subscription_refund", [Leg(revenue, -199), Leg(clearing, 199)])
            await tx("release", "escrow_release", [Leg(escrow, -350), Leg(earnings, 350)], reference=("sale", "s2"))
            await tx("payout1", "payout_requested", [Leg(earnings, -300), Leg(payouts, 300)])
            await tx("payout1_paid", "payout_paid", [Leg(payouts, -300), Leg(clearing, 300)])
            await tx("payout2", "payout_requested", [Leg(earnings, -50), Leg(payouts, 50)])
            await ledger.hold(s, wallet, 10, key="open-hold")
        return ids

    ids = ledger_db(post)
    backdate(
        db,
        {
            D1: ["purchase", "card_sale"],
            D2: ["credit_sale", f"hold:{_hold_id(db)}:capture"],
            D3: [
                f"reverse:{ids['card_sale']}",
                "subscription",
                "sub_refund",
                "release",
                "payout1",
                "payout1_paid",
                "payout2",
            ],
        },
    )
    return ids


def _hold_id(db) -> uuid.UUID:
    return db.execute("SELECT id FROM ledger_holds WHERE idempotency_key = 'spend-hold'").fetchone()[0]
