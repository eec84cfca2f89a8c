"""Payments: checkouts through a PaymentProvider (Stripe or the built-in sandbox), webhooks, refunds."""
