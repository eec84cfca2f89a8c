"""Billing: one double-entry ledger under credits, payments, subscriptions, sales and payouts."""
