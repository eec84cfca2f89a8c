"""The subscription state machine through the sandbox processor, moving time by running the renewal job
at chosen moments: trial → active → renewal → failed renewal → past_due → expired; cancel at period end."""

from __future__ import annotations

import datetime as dt

from smile.billing.ledger.verify import verify
from smile.billing.subscriptions import service
from smile.billing.subscriptions.periods import add_interval
from tests.billing.subscriptions.conftest import at, ledger_sum, start, subs, uid, wait_sub
from tests.billing.support import pay_sandbox, wait_for

MINUTE = dt.timedelta(minutes=1)


def declined(db, user) -> int:
    return db.execute("SELECT count(*) FROM payments WHERE user_id = %s AND status = 'declined'", (user,)).fetchone()[0]


def test_trial_active_renewal_declined_past_due_expired(subscribed, run_renewals, call, db):
    api, sub = subscribed("business")  # Business has a 14-day free trial
    assert sub["status"] == "trialing" and sub["plan"]["code"] == "business"
    trial_end = at(sub["trial_end"])
    assert at(sub["current_period_end"]) == trial_end
    assert trial_end - at(sub["current_period_start"]) == dt.timedelta(days=14)
    assert ledger_sum(db, "subscription_payment", uid(api)) == []  # nothing is charged for a trial
    assert "api_priority" in api.get("/api/v1/billing/entitlements").json()["entitlements"]

    # The trial ends: the saved card pays the first month, which starts where the trial ended.
    assert run_renewals(trial_end - MINUTE).charged == 0
    assert run_renewals(trial_end + MINUTE).charged == 1
    sub = wait_sub(api, lambda s: s["status"] == "active", "trial converted")
    first_end = add_interval(trial_end, "month")
    assert at(sub["current_period_start"]) == trial_end and at(sub["current_period_end"]) == first_end
    assert ledger_sum(db, "subscription_payment", uid(api)) == [4999]

    # A month later it renews again; running the job twice for the same moment charges once.
    assert run_renewals(first_end + MINUTE).charged == 1
    assert run_renewals(first_end + MINUTE).charged == 0
    second_end = add_interval(first_end, "month")
    wait_sub(api, lambda s: at(s["current_period_end"]) == second_end, "second renewal")
    assert ledger_sum(db, "subscription_payment", uid(api)) == [4999, 4999]

    # The card is removed: the next renewal is declined and the subscription is past due, with its
    # entitlements kept through the grace period.
    assert api.post("/billing/sandbox/portal/forget-card").status_code == 303
    assert run_renewals(second_end + MINUTE).charged == 1
    sub = wait_sub(api, lambda s: s["status"] == "past_due", "past due")
    grace = dt.timedelta(days=7)
    assert at(sub["past_due_since"]) == second_end and at(sub["grace_ends_at"]) == second_end + grace
    assert sub["renews_at"] is None
    user = uid(api)
    assert "api_priority" in call(lambda db: service.entitlements(db, user, second_end + dt.timedelta(days=3)))

    # Retried a day later (declined again), then expired when the grace period is over.
    assert run_renewals(second_end + dt.timedelta(hours=12)).charged == 0
    assert run_renewals(second_end + dt.timedelta(days=1, hours=1)).charged == 1
    wait_for(lambda: declined(db, user) == 2, message="retry declined")
    assert subs(api)[0]["status"] == "past_due"
    done = run_renewals(second_end + grace + MINUTE)
    assert done.expired == 1 and done.charged == 0
    [sub] = subs(api)
    assert sub["status"] == "expired" and sub["ended_at"]
    after = call(lambda db: service.entitlements(db, user, second_end + grace + MINUTE))
    assert "api_priority" not in after and "post" in after  # back to Free
    assert ledger_sum(db, "subscription_payment", user) == [4999, 4999]
    assert call(verify) == []


def test_cancel_at_period_end_resume_and_end(subscribed, run_renewals, db):
    api, sub = subscribed("creator_pro")
    assert sub["status"] == "active" and sub["trial_end"] is None
    end = at(sub["current_period_end"])
    assert end == add_interval(at(sub["current_period_start"]), "month")
    assert ledger_sum(db, "subscription_payment", uid(api)) == [999]

    r = api.post(f"/api/v1/billing/subscriptions/{sub['id']}/cancel")
    assert r.status_code == 200, r.text
    assert r.json()["cancel_at_period_end"] is True and r.json()["renews_at"] is None
    assert r.json()["status"] == "active"  # kept until the period ends
    assert "creator_tools" in api.get("/api/v1/billing/entitlements").json()["entitlements"]

    r = api.post(f"/api/v1/billing/subscriptions/{sub['id']}/resume")
    assert r.status_code == 200 and r.json()["cancel_at_period_end"] is False
    assert at(r.json()["renews_at"]) == end
    assert api.post(f"/api/v1/billing/subscriptions/{sub['id']}/cancel").json()["cancel_at_period_end"] is True

    assert run_renewals(end - MINUTE).canceled == 0
    done = run_renewals(end + MINUTE)
    assert done.canceled == 1 and done.charged == 0
    [sub] = subs(api)
    assert sub["status"] == "canceled" and at(sub["ended_at"]) == end
    assert db.execute("SELECT count(*) FROM payments WHERE user_id = %s", (uid(api),)).fetchone()[0] == 1

    r = api.post(f"/api/v1/billing/subscriptions/{sub['id']}/resume")
    assert r.status_code == 409 and r.json()["error"] == "subscription_ended"
    # Subscribing again is allowed once the old one has ended (no second trial is offered for trial plans).
    assert api.post("/api/v1/billing/subscriptions", json={"plan": "creator_pro"}).status_code == 201


def test_declined_first_checkout_creates_nothing_and_retry_works(signup, db):
    api = signup()
    url = start(api, "creator_pro")
    pay_sandbox(api, url, "decline")
    wait_for(
        lambda: db.execute("SELECT status FROM payments WHERE user_id = %s", (uid(api),)).fetchone()[0] == "declined",
        message="declined",
    )
    assert subs(api) == []
    pay_sandbox(api, url, "pay")  # the same checkout may be paid after a decline
    sub = wait_sub(api, lambda s: s["status"] == "active", "active after retry")
    assert sub["plan"]["code"] == "creator_pro"


def test_a_second_paid_checkout_for_a_held_plan_is_refunded(signup, call, db):
    api = signup()
    first, second = start(api, "creator_pro"), start(api, "creator_pro")
    pay_sandbox(api, first)
    wait_sub(api, lambda s: s["status"] == "active")
    pay_sandbox(api, second)
    wait_for(
        lambda: (
            db.execute(
                "SELECT count(*) FROM payments WHERE user_id = %s AND status = 'refunded'", (uid(api),)
            ).fetchone()[0]
            == 1
        ),
        message="duplicate refunded",
    )
    assert len(subs(api)) == 1
    assert ledger_sum(db, "subscription_payment", uid(api)) == [999, 999]
    wait_for(lambda: ledger_sum(db, "subscription_refund", uid(api)) == [-999], message="refund booked")
    assert call(verify) == []
