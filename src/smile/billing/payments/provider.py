"""The PaymentProvider interface. Implementations: sandbox (default, offline) and Stripe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from smile.billing.payments.models import Payment


@dataclass(frozen=True)
class CheckoutSession:
    provider_ref: str  # the processor's checkout session id
    url: str  # where to send the buyer
    customer_ref: str | None = None


@dataclass(frozen=True)
class Recurring:
    """Turns a checkout into a subscription's first payment."""

    interval: str  # month | year
    trial_days: int
    plan_ref: str  # our plan's id (Stripe: looked up or created as a price)


class PaymentProvider(Protocol):
    name: str  # "sandbox" | "stripe": also the webhook source

    async def create_checkout(
        self, payment: Payment, *, success_url: str, cancel_url: str, recurring: Recurring | None = None
    ) -> CheckoutSession:
        """Start a hosted checkout for `payment` (amount, currency, description; metadata payment_id)."""

    async def refund(self, payment: Payment, amount: int, *, key: str) -> str:
        """Refund `amount` of a paid payment; returns the processor's refund id. `key` is the idempotency key."""

    async def portal_url(self, customer_ref: str, return_url: str) -> str:
        """A link where the customer manages cards and subscriptions."""

    async def transfer(self, *, amount: int, currency: str, destination: str, key: str, description: str) -> str:
        """Send a payout to a connected account; returns the transfer id."""

    async def cancel_subscription(self, subscription_ref: str, *, at_period_end: bool, key: str) -> None:
        """Cancel (now or at period end) a processor-side subscription."""

    async def resume_subscription(self, subscription_ref: str, *, key: str) -> None:
        """Undo a cancel-at-period-end."""

    def verify_event(self, body: bytes, signature: str | None) -> dict:
        """Check the webhook signature on the raw body; return the event (id, type, created, data.object).

        Raises smile.kit.errors.Invalid when the signature or payload is bad.
        """
