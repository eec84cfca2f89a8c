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

    def start(user_id, amount: int = 1500, *, key: str | None = None, recurring=None, currency: str = "USD",
              success_url: str = "/billing/payments?done=1", cancel_url: str = "/billing/payments?cancelled=1"):
        async def run():
            async with runtime.current().db.session() as db:
                return await service.start_checkout(
                    db, uuid.UUID(str(user_id)), purpose=purpose.PURPOSE, reference_id="widget", amount=amount,
                    currency=currency, description="A test widget", key=key or f"test:{uuid.uuid4()}",
                    success_url=success_url, cancel_url=cancel_url, recurring=recurring)
        return server.call(run())

    return start


@pytest.fixture
def call(server):
    """call(fn): run `await fn(db)` in one committed unit of work on the live server's runtime."""

    def run(fn):
        async def main():
            async with runtime.current().db.session() as db:
                return await fn(db)
        return server.call(main())

    return run


@pytest.fixture
def payment_row(db):
    def get(payment_id) -> dict:
        cur = db.execute("SELECT status, refunded, amount, charge_ref, customer_ref, subscription_ref, metadata "
                         "FROM payments WHERE id = %s", (payment_id,))
        cols = [c.name for c in cur.description]
        row = cur.fetchone()
        return dict(zip(cols, row)) if row else {}
    return get


@pytest.fixture
def ledger_counts(db):
    """{kind: count} of ledger transactions referencing the payment."""
    def counts(payment_id) -> dict[str, int]:
        rows = db.execute("SELECT kind, count(*) FROM ledger_transactions WHERE reference_type = 'payment' "
                          "AND reference_id = %s GROUP BY kind", (str(payment_id),)).fetchall()
        return dict(rows)
    return counts


WEBHOOK_SECRET = "whsec_test_smile_payments"


@pytest.fixture(scope="module")
def stripe_stub():
    from tests.billing.stripe_stub import StripeStub

    stub = StripeStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def stripe_mode(server, stripe_stub):
    """Switch the live server to the Stripe provider, talking to the stub; restored afterwards."""
    settings = runtime.current().settings
    names = ("payment_provider", "stripe_secret_key", "stripe_api_base", "stripe_webhook_secret")
    saved = {n: getattr(settings, n) for n in names}
    settings.payment_provider = "stripe"
    settings.stripe_secret_key = "sk_test_smile"
    settings.stripe_api_base = stripe_stub.url
    settings.stripe_webhook_secret = WEBHOOK_SECRET
    stripe_stub.requests.clear()
    yield stripe_stub
    for name, value in saved.items():
        setattr(settings, name, value)


@pytest.fixture
def post_event(client):
    """post_event(event, source="stripe", secret=...): sign with Stripe's scheme and POST it over HTTP."""
    import json

    import stripe

    def post(event: dict, source: str = "stripe", secret: str | None = None, signature: str | None = None):
        body = json.dumps(event)
        if signature is None:
            if secret is None:
                from smile.billing.payments import sandbox
                secret = WEBHOOK_SECRET if source == "stripe" else sandbox.webhook_secret()
            signature = stripe.WebhookSignature.generate_signature_header(body, secret)
        return client.post(f"/api/v1/billing/webhooks/{source}", content=body,
                           headers={"stripe-signature": signature, "content-type": "application/json"})

    return post


def stripe_event(event_id: str, type_: str, obj: dict) -> dict:
    return {"id": event_id, "object": "event", "api_version": "2025-01-27.acacia", "created": 1_790_000_000,
            "livemode": False, "type": type_, "data": {"object": obj}}
