"""credits: background jobs (and, by importing the service, its payment hooks)."""

from smile.billing.credits import promo, purchases, service  # noqa: F401 - registers hooks.paid/refunded("credits")
