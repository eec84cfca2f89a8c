"""The sandbox provider: our own checkout page and Stripe-shaped events, signed with Stripe's scheme.

Every sandbox event goes through the same `receive()` as a real webhook, so the whole pipeline
(verify, store once, job, hooks) runs exactly as it does with Stripe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import stripe
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.payments.models import Payment
from smile.billing.payments.provider import CheckoutSession, Recurring
from smile.kit import runtime
from smile.kit.errors import AppError

API_VERSION = "2025-01-27.acacia"


class BadSignature(AppError):
    status = 400
    code = "bad_signature"


def webhook_secret(secret_key: str | None = None) -> str:
    """The sandbox's webhook signing secret, derived from settings.secret_key."""
    key = (secret_key or runtime.current().settings.secret_key).encode()
    return "whsec_sbx_" + hmac.new(key, b"smile-sandbox-webhook", hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header: t=<unix time>,v1=HMAC-SHA256(secret, "t.body")."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(body: bytes, signature: str | None, secret: str) -> dict:
    """Check a Stripe-scheme signature on the raw body (with the official SDK) and parse the event."""
    if not signature:
        raise BadSignature("Missing Stripe-Signature header.")
    try:
        text = body.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret, tolerance=300)
        event = json.loads(text)
    except stripe.SignatureVerificationError as exc:
        raise BadSignature(f"Bad webhook signature: {exc.user_message or exc}") from None
    except (UnicodeDecodeError, ValueError):
        raise BadSignature("The webhook body is not valid JSON.") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise BadSignature("The webhook body is not an event (id and type are required).")
    return event


def ref(prefix: str, *parts: object) -> str:
    """A deterministic processor-style id from our own ids or keys."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:24]
    return f"{prefix}_sbx_{digest}"


def customer_ref(user_id: uuid.UUID) -> str:
    return f"cus_sbx_{user_id.hex}"


def event(event_id: str, type_: str, obj: dict) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        "type": type_,
        "data": {"object": obj},
    }


async def emit(db: AsyncSession, evt: dict) -> None:
    """Sign `evt` and feed it to the webhook pipeline in the caller's transaction."""
    from smile.billing.payments import service

    body = json.dumps(evt, separators=(",", ":")).encode()
    await service.receive(db, "sandbox", body, sign(body, webhook_secret()))


def checkout_object(payment: Payment) -> dict:
    obj = {
        "id": payment.provider_ref,
        "object": "checkout.session",
        "mode": payment.mode,
        "amount_total": payment.amount,
        "currency": payment.currency.lower(),
        "customer": customer_ref(payment.user_id),
        "client_reference_id": str(payment.id),
        "metadata": {"payment_id": str(payment.id)},
        "payment_intent": None,
        "subscription": None,
        "payment_status": "unpaid",
        "status": "open",
    }
    if payment.mode == "subscription":
        obj["subscription"] = f"sub_sbx_{payment.id.hex}"
    else:
        obj["payment_intent"] = f"pi_sbx_{payment.id.hex}"
    return obj


def intent_object(payment: Payment, status: str, error: str | None = None) -> dict:
    obj = {
        "id": f"pi_sbx_{payment.id.hex}",
        "object": "payment_intent",
        "amount": payment.amount,
        "currency": payment.currency.lower(),
        "customer": customer_ref(payment.user_id),
        "status": status,
        "metadata": {"payment_id": str(payment.id)},
    }
    if error:
        obj["last_payment_error"] = {"code": "card_declined", "message": error}
    return obj


class SandboxProvider:
    name = "sandbox"

    async def create_checkout(
        self, payment: Payment, *, success_url: str, cancel_url: str, recurring: Recurring | None = None
    ) -> CheckoutSession:
        return CheckoutSession(
            provider_ref=f"cs_sbx_{payment.id.hex}",
            url=f"/billing/sandbox/checkout/{payment.id}",
            customer_ref=customer_ref(payment.user_id),
        )

    async def refund(self, payment: Payment, amount: int, *, key: str) -> str:
        return ref("re", payment.id, key)

    async def portal_url(self, customer_ref: str, return_url: str) -> str:
        from urllib.parse import quote

        return f"/billing/sandbox/portal?return_url={quote(return_url, safe='')}"

    async def transfer(self, *, amount: int, currency: str, destination: str, key: str, description: str) -> str:
        return ref("tr", key)

    async def cancel_subscription(self, subscription_ref: str, *, at_period_end: bool, key: str) -> None:
        return None  # sandbox subscriptions live only in our own tables

    async def resume_subscription(self, subscription_ref: str, *, key: str) -> None:
        return None

    def verify_event(self, body: bytes, signature: str | None) -> dict:
        return verify(body, signature, webhook_secret())
