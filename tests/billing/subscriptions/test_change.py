"""Upgrades and downgrades with exact proration: amount due = new price - unused value of the current
period (floored, never below 0); a downgrade's leftover value is carried as credit on the next renewals."""

from __future__ import annotations

import datetime as dt
import uuid

from smile.billing.ledger.verify import verify
from smile.billing.subscriptions import service
from smile.billing.subscriptions.periods import add_interval, prorate, unused_value
from tests.billing.subscriptions.conftest import at, ledger_sum, uid, wait_sub
from tests.billing.support import pay_sandbox

JAN1 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
JAN31 = dt.datetime(2030, 1, 31, tzinfo=dt.UTC)  # a 30-day period


def set_period(db, sub_id, start: dt.datetime, end: dt.datetime) -> None:
    db.execute(
        "UPDATE subscriptions SET current_period_start = %s, current_period_end = %s WHERE id = %s",
        (start, end, sub_id),
    )


def test_proration_arithmetic_is_exact_and_floors():
    assert unused_value(999, JAN1, JAN31, JAN1 + dt.timedelta(days=10)) == 666  # 999 * 20/30
    assert unused_value(999, JAN1, JAN31, JAN1 + dt.timedelta(days=10, seconds=1)) == 665  # 665.9996 floored
    assert unused_value(999, JAN1, JAN31, JAN31) == 0 and unused_value(999, JAN1, JAN31, JAN1) == 999
    up = prorate(999, 4999, JAN1, JAN31, JAN1 + dt.timedelta(days=10), credit=0)
    assert (up.unused, up.amount_due, up.credit_after) == (666, 4333, 0)
    down = prorate(4999, 999, JAN1, JAN31, JAN1 + dt.timedelta(days=15), credit=0)
    assert (down.unused, down.amount_due, down.credit_after) == (2499, 0, 1500)  # 2499.5 floored
    with_credit = prorate(999, 4999, JAN1, JAN31, JAN1 + dt.timedelta(days=10), credit=300)
    assert (with_credit.amount_due, with_credit.credit_after) == (4033, 0)
    assert add_interval(dt.datetime(2030, 1, 31, tzinfo=dt.UTC), "month") == dt.datetime(2030, 2, 28, tzinfo=dt.UTC)
    assert add_interval(dt.datetime(2028, 2, 29, tzinfo=dt.UTC), "year") == dt.datetime(2029, 2, 28, tzinfo=dt.UTC)


def test_upgrade_charges_the_prorated_amount_then_downgrade_carries_credit(subscribed, call, run_renewals, db):
    api, sub = subscribed("creator_pro")
    sub_id, user = uuid.UUID(sub["id"]), uid(api)
    set_period(db, sub_id, JAN1, JAN31)

    # The quote over the API (now is before the period: all of it is unused).
    r = api.get(f"/api/v1/billing/subscriptions/{sub_id}/change", params={"plan": "business"})
    assert r.status_code == 200, r.text
    assert (r.json()["unused"], r.json()["amount_due"], r.json()["credit_after"]) == (999, 4000, 0)

    # Upgrade ten days and one second into the period: 4999 - floor(999 * (20 days - 1 s) / 30 days).
    now = JAN1 + dt.timedelta(days=10, seconds=1)
    quote, payment = call(lambda db: service.change_plan(db, user, sub_id, "business", now=now))
    assert quote.proration.unused == 665 and quote.proration.amount_due == 4334
    assert payment.amount == 4334 and payment.checkout_url
    pay_sandbox(api, payment.checkout_url)
    sub = wait_sub(api, lambda s: s["plan"]["code"] == "business", "upgraded")
    assert sub["status"] == "active" and sub["credit"] == 0 and sub["trial_end"] is None
    assert at(sub["current_period_end"]) == add_interval(at(sub["current_period_start"]), "month")
    assert ledger_sum(db, "subscription_payment", user) == [999, 4334]

    # Downgrade halfway through a 30-day Business period: 2499 unused pays Creator Pro's 999 at once and
    # leaves 1500 as credit (not money: nothing is booked).
    set_period(db, sub_id, JAN1, JAN31)
    now = JAN1 + dt.timedelta(days=15)
    quote, payment = call(lambda db: service.change_plan(db, user, sub_id, "creator_pro", now=now))
    assert payment is None and (quote.proration.amount_due, quote.proration.credit_after) == (0, 1500)
    [sub] = [s for s in api.get("/api/v1/billing/subscriptions").json()["items"]]
    assert sub["plan"]["code"] == "creator_pro" and sub["credit"] == 1500
    assert at(sub["current_period_start"]) == now
    end = add_interval(now, "month")
    assert at(sub["current_period_end"]) == end

    # Renewals spend the credit first: the next is free (credit 1500 -> 501), the one after costs 999 - 501.
    done = run_renewals(end + dt.timedelta(minutes=1))
    assert (done.extended, done.charged) == (1, 0)
    sub = api.get(f"/api/v1/billing/subscriptions/{sub_id}").json()
    assert sub["credit"] == 501 and at(sub["current_period_end"]) == add_interval(end, "month")
    end = add_interval(end, "month")
    assert run_renewals(end + dt.timedelta(minutes=1)).charged == 1
    sub = wait_sub(api, lambda s: s["credit"] == 0, "renewed with the rest of the credit")
    assert at(sub["current_period_end"]) == add_interval(end, "month")
    assert ledger_sum(db, "subscription_payment", user) == [999, 4334, 498]
    assert call(verify) == []


def test_change_refusals(subscribed, db):
    api, sub = subscribed("creator_pro")
    url = f"/api/v1/billing/subscriptions/{sub['id']}/change"
    same = api.post(url, json={"plan": "creator_pro"})
    assert same.status_code == 422 and same.json()["fields"]["plan"]
    free = api.post(url, json={"plan": "free"})
    assert free.status_code == 422 and "cancel" in free.json()["detail"]
    assert api.post(url, json={"plan": "no-such-plan"}).status_code == 404
    assert api.post(url, json={}).status_code == 422


def test_a_change_during_the_trial_is_free_and_keeps_the_trial(subscribed):
    api, sub = subscribed("business")
    assert sub["status"] == "trialing"
    r = api.post(f"/api/v1/billing/subscriptions/{sub['id']}/change", json={"plan": "creator_pro"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["checkout_url"] is None and body["quote"]["keeps_trial"] is True and body["quote"]["amount_due"] == 0
    assert body["subscription"]["plan"]["code"] == "creator_pro" and body["subscription"]["status"] == "trialing"
    assert body["subscription"]["current_period_end"] == sub["current_period_end"]
