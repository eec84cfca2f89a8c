"""Billing: one double-entry ledger under credits, payments, subscriptions, sales and payouts."""

NEEDS = ("identity",)  # the modules this one needs enabled (smile.config checks SMILE_MODULES)
