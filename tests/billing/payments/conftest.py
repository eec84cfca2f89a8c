"""Payments fixtures: start a checkout for a test user, read payments and the ledger."""

from __future__ import annotations

import uuid

import pytest

from smile.billing.payments import service
from smile.kit import runtime
from tests.billing.payments import purpose


@pytest.fixture
def start_checkout(server):
    """start_checkout(user_id, amount, key=...) through the live server's runtime; returns the Payment."""

    def start(
        user_id,
        amount: int = 1500,
        *,
        key: str | None = None,
        recurring=None,
        currency: str = "USD",
        success_url: str = "/billing/payments?done=1",
        cancel_url: str = "/billing/payments?cancelled=1",
    ):
        async def run():
            async with runtime.current().db.session() as db:
                return await service.start_checkout(
                    db,
                    uuid.UUID(str(user_id)),
                    purpose=purpose.PURPOSE,
                    reference_id="widget",
                    amount=amount,
                    currency=currency,
                    description="A test widget",
                    key=key or f"test:{uuid.uuid4()}",
                    success_url=success_url,
                    cancel_url=cancel_url,
                    recurring=recurring,
                )

        return server.call(run())

    return start


@pytest.fixture
def payment_row(db):
    def get(payment_id) -> dict:
        cur = db.execute(
            "SELECT status, refunded, amount, charge_ref, customer_ref, subscription_ref, metadata "
            "FROM payments WHERE id = %s",
            (payment_id,),
        )
        cols = [c.name for c in cur.description]
        row = cur.fetchone()
        return dict(zip(cols, row, strict=True)) if row else {}

    return get


@pytest.fixture
def ledger_counts(db):
    """{kind: count} of ledger transactions referencing the payment."""

    def counts(payment_id) -> dict[str, int]:
        rows = db.execute(
            "SELECT kind, count(*) FROM ledger_transactions WHERE reference_type = 'payment' "
            "AND reference_id = %s GROUP BY kind",
            (str(payment_id),),
        ).fetchall()
        return dict(rows)

    return counts
