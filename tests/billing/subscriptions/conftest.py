"""Subscriptions fixtures: subscribe and pay through the sandbox, run the renewal job at a chosen time."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from smile.billing.subscriptions import renewals
from tests.billing.support import pay_sandbox, wait_for


def subs(api) -> list[dict]:
    r = api.get("/api/v1/billing/subscriptions")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def wait_sub(api, predicate, message: str = "subscription state") -> dict:
    """The user's newest subscription once `predicate(sub)` holds (events are handled by the worker)."""
    return wait_for(lambda: next((s for s in subs(api) if predicate(s)), None), message=message)


def start(api, plan: str) -> str:
    r = api.post("/api/v1/billing/subscriptions", json={"plan": plan})
    assert r.status_code == 201, r.text
    assert r.json()["checkout_url"], r.text
    return r.json()["checkout_url"]


@pytest.fixture
def subscribed(signup):
    """subscribed(plan="creator_pro") -> (api, subscription): a user who paid the sandbox checkout."""

    def make(plan: str = "creator_pro", *, renewals_decline: bool = False, api=None):
        api = api or signup()
        pay_sandbox(api, start(api, plan), renewals_decline=renewals_decline)
        return api, wait_sub(api, lambda s: s["status"] in ("active", "trialing"), "subscription started")

    return make


@pytest.fixture
def run_renewals(call):
    """run_renewals(now) -> Run: the renewal job as it would run at `now`."""
    return lambda now: call(lambda db: renewals.run(db, now))


def at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def ledger_sum(db, kind: str, user_id) -> list[int]:
    """Amounts booked to platform REVENUE by transactions of `kind` for this user, oldest first."""
    rows = db.execute(
        "SELECT e.amount FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id "
        "JOIN ledger_accounts a ON a.id = e.account_id WHERE t.kind = %s AND t.metadata->>'user_id' = %s "
        "AND a.owner_id IS NULL AND a.purpose = 'revenue' ORDER BY t.id",
        (kind, str(user_id)),
    ).fetchall()
    return [r[0] for r in rows]


def uid(api) -> uuid.UUID:
    return uuid.UUID(api.user["id"])
