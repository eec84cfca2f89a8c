"""Fixtures shared by the billing tests: a unit of work on the live server, the Stripe stub, signed webhooks."""

from __future__ import annotations

import pytest

from smile.kit import runtime


@pytest.fixture
def call(server):
    """call(fn): run `await fn(db)` in one committed unit of work on the live server's runtime."""

    def run(fn):
        async def main():
            async with runtime.current().db.session() as db:
                return await fn(db)

        return server.call(main())

    return run


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
        return client.post(
            f"/api/v1/billing/webhooks/{source}",
            content=body,
            headers={"stripe-signature": signature, "content-type": "application/json"},
        )

    return post


def stripe_event(event_id: str, type_: str, obj: dict) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": 1_790_000_000,
        "livemode": False,
        "type": type_,
        "data": {"object": obj},
    }
