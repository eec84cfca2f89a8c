"""The Stripe provider, on the official SDK: one StripeClient per configuration, never the global api_key.

Every call that creates something carries an idempotency key derived from our own ids, so a
retried request (ours or the SDK's network retries) never charges, refunds or pays out twice.
"""

from __future__ import annotations

from contextlib import contextmanager

import stripe

from smile.billing.payments import sandbox
from smile.billing.payments.models import Payment
from smile.billing.payments.provider import CheckoutSession, Recurring
from smile.kit import runtime
from smile.kit.errors import AppError, Conflict


class ProcessorError(AppError):
    status = 502
    code = "processor_unavailable"


@contextmanager
def _errors():
    """Stripe's errors as our own: a refused request is a 409, an outage a 502."""
    try:
        yield
    except stripe.InvalidRequestError as exc:
        raise Conflict(
            f"The payment processor refused the request: {exc.user_message or exc}", code="processor_refused"
        ) from None
    except stripe.StripeError as exc:
        raise ProcessorError(
            f"The payment processor could not be reached or failed: {exc.user_message or exc}. Try again in a moment."
        ) from None


def _absolute(url: str) -> str:
    return runtime.current().settings.base_url + url if url.startswith("/") else url


class StripeProvider:
    name = "stripe"

    def __init__(self, api_key: str, *, api_base: str | None = None, webhook_secret: str | None = None) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        bases = {"api": api_base, "connect": api_base, "files": api_base} if api_base else None
        self._client: stripe.StripeClient | None = None
        self._bases = bases

    @property
    def client(self) -> stripe.StripeClient:
        if not self.api_key:
            raise ProcessorError(
                "Stripe is not configured: set SMILE_STRIPE_SECRET_KEY.", status=503, code="processor_not_configured"
            )
        if self._client is None:
            self._client = stripe.StripeClient(
                self.api_key, base_addresses=self._bases or {}, http_client=stripe.HTTPXClient(), max_network_retries=2
            )
        return self._client

    async def create_checkout(
        self, payment: Payment, *, success_url: str, cancel_url: str, recurring: Recurring | None = None
    ) -> CheckoutSession:
        metadata = {"payment_id": str(payment.id), "purpose": payment.purpose}
        price_data: dict = {
            "currency": payment.currency.lower(),
            "unit_amount": payment.amount,
            "product_data": {"name": payment.description[:250] or payment.purpose},
        }
        params: dict = {
            "mode": "subscription" if recurring else "payment",
            "success_url": _absolute(success_url),
            "cancel_url": _absolute(cancel_url),
            "client_reference_id": str(payment.id),
            "metadata": metadata,
            "line_items": [{"quantity": 1, "price_data": price_data}],
        }
        if recurring:
            price_data["recurring"] = {"interval": recurring.interval}
            price_data["product_data"]["metadata"] = {"plan": recurring.plan_ref}
            params["subscription_data"] = {"metadata": metadata}
            if recurring.trial_days:
                params["subscription_data"]["trial_period_days"] = recurring.trial_days
        else:
            params["payment_intent_data"] = {"metadata": metadata}
        if payment.customer_ref:
            params["customer"] = payment.customer_ref
        elif not recurring:
            params["customer_creation"] = "always"
        with _errors():
            session = await self.client.v1.checkout.sessions.create_async(
                params, options={"idempotency_key": f"checkout:{payment.id}"}
            )
        customer = session.to_dict().get("customer")
        return CheckoutSession(
            provider_ref=session["id"], url=session["url"], customer_ref=customer if isinstance(customer, str) else None
        )

    async def refund(self, payment: Payment, amount: int, *, key: str) -> str:
        params: dict = {"amount": amount, "metadata": {"payment_id": str(payment.id), "key": key[:500]}}
        if payment.charge_ref:
            params["payment_intent"] = payment.charge_ref
        else:
            raise Conflict("This payment has no charge at the processor to refund.")
        with _errors():
            refund = await self.client.v1.refunds.create_async(params, options={"idempotency_key": f"refund:{key}"})
        return refund["id"]

    async def list_refunds(self, charge_id: str) -> list[dict]:
        with _errors():
            page = await self.client.v1.refunds.list_async({"charge": charge_id, "limit": 100})
        return [r.to_dict() for r in page.data]

    async def portal_url(self, customer_ref: str, return_url: str) -> str:
        with _errors():
            session = await self.client.v1.billing_portal.sessions.create_async(
                {"customer": customer_ref, "return_url": _absolute(return_url)}
            )
        return session["url"]

    async def transfer(self, *, amount: int, currency: str, destination: str, key: str, description: str) -> str:
        with _errors():
            transfer = await self.client.v1.transfers.create_async(
                {
                    "amount": amount,
                    "currency": currency.lower(),
                    "destination": destination,
                    "description": description[:350],
                    "metadata": {"key": key[:500]},
                },
                options={"idempotency_key": f"transfer:{key}"},
            )
        return transfer["id"]

    async def cancel_subscription(self, subscription_ref: str, *, at_period_end: bool, key: str) -> None:
        with _errors():
            if at_period_end:
                await self.client.v1.subscriptions.update_async(
                    subscription_ref, {"cancel_at_period_end": True}, options={"idempotency_key": f"cancel:{key}"}
                )
            else:
                await self.client.v1.subscriptions.cancel_async(
                    subscription_ref, options={"idempotency_key": f"cancel:{key}"}
                )

    async def resume_subscription(self, subscription_ref: str, *, key: str) -> None:
        with _errors():
            await self.client.v1.subscriptions.update_async(
                subscription_ref, {"cancel_at_period_end": False}, options={"idempotency_key": f"resume:{key}"}
            )

    def verify_event(self, body: bytes, signature: str | None) -> dict:
        """stripe.Webhook.construct_event on the raw body, then the plain event dict."""
        if not self.webhook_secret:
            raise sandbox.BadSignature("Stripe webhooks are not configured: set SMILE_STRIPE_WEBHOOK_SECRET.")
        if not signature:
            raise sandbox.BadSignature("Missing Stripe-Signature header.")
        try:
            event = stripe.Webhook.construct_event(body, signature, self.webhook_secret)
        except stripe.SignatureVerificationError as exc:
            raise sandbox.BadSignature(f"Bad webhook signature: {exc.user_message or exc}") from None
        except (ValueError, KeyError):
            raise sandbox.BadSignature("The webhook body is not a valid Stripe event.") from None
        return event.to_dict()
