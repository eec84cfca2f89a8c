"""Stripe mode: the official SDK talks to a Stripe-shaped local server, and Stripe-signed invoice and
subscription events posted over HTTP drive the same state machine; each invoice is booked once."""

from __future__ import annotations

import datetime as dt

from smile.billing.ledger.verify import verify
from tests.billing.subscriptions.conftest import at, ledger_sum, subs, uid, wait_sub
from tests.billing.support import wait_for

T0 = 1_790_000_000
DAY = 86_400


def evt(event_id: str, type_: str, obj: dict, created: int) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": created,
        "livemode": False,
        "type": type_,
        "data": {"object": obj},
    }


def invoice(inv_id: str, reason: str, amount: int, start: int, end: int, sub_ref: str = "sub_test_9") -> dict:
    return {
        "id": inv_id,
        "object": "invoice",
        "subscription": sub_ref,
        "billing_reason": reason,
        "amount_paid": amount,
        "currency": "usd",
        "customer": "cus_test_9",
        "lines": {"object": "list", "data": [{"period": {"start": start, "end": end}}]},
    }


def subscription(status: str, start: int, end: int, *, cancel: bool = False, plan_id: str | None = None) -> dict:
    return {
        "id": "sub_test_9",
        "object": "subscription",
        "status": status,
        "customer": "cus_test_9",
        "cancel_at_period_end": cancel,
        "canceled_at": start + 5 if cancel else None,
        "items": {
            "object": "list",
            "data": [
                {
                    "current_period_start": start,
                    "current_period_end": end,
                    "price": {"metadata": {"plan": plan_id} if plan_id else {}},
                }
            ],
        },
        "metadata": {},
    }


def test_stripe_events_drive_the_subscription(signup, stripe_mode, post_event, call, db):
    api = signup()
    r = api.post("/api/v1/billing/subscriptions", json={"plan": "creator_pro"})
    assert r.status_code == 201, r.text
    assert r.json()["checkout_url"].startswith("https://checkout.stripe.test/")
    payment_id = r.json()["payment_id"]
    [session_call] = stripe_mode.calls("/v1/checkout/sessions")
    assert session_call.params["mode"] == "subscription"
    assert session_call.params["line_items[0][price_data][recurring][interval]"] == "month"
    assert session_call.params["line_items[0][price_data][unit_amount]"] == "999"
    session = db.execute("SELECT provider_ref FROM payments WHERE id = %s", (payment_id,)).fetchone()[0]

    completed = {
        "id": session,
        "object": "checkout.session",
        "mode": "subscription",
        "payment_status": "paid",
        "status": "complete",
        "amount_total": 999,
        "currency": "usd",
        "customer": "cus_test_9",
        "subscription": "sub_test_9",
        "metadata": {"payment_id": payment_id},
    }
    assert post_event(evt("evt_s1", "checkout.session.completed", completed, T0)).status_code == 200
    sub = wait_sub(api, lambda s: s["status"] == "active", "started by the checkout")
    assert sub["provider"] == "stripe"
    # The first invoice was paid by that checkout: it is not booked twice.
    post_event(evt("evt_s2", "invoice.paid", invoice("in_1", "subscription_create", 999, T0, T0 + 30 * DAY), T0))
    post_event(evt("evt_s3", "customer.subscription.updated", subscription("active", T0, T0 + 30 * DAY), T0 + 1))
    wait_sub(
        api,
        lambda s: at(s["current_period_end"]) == dt.datetime.fromtimestamp(T0 + 30 * DAY, dt.UTC),
        "period synced from Stripe",
    )
    assert ledger_sum(db, "subscription_payment", uid(api)) == [999]

    # A renewal invoice, delivered four times (twice under another event id): booked once, period moved on.
    renewal = invoice("in_2", "subscription_cycle", 999, T0 + 30 * DAY, T0 + 60 * DAY)
    for event_id in ("evt_s4", "evt_s4", "evt_s5", "evt_s5"):
        assert post_event(evt(event_id, "invoice.paid", renewal, T0 + 30 * DAY)).status_code == 200
    wait_sub(
        api,
        lambda s: at(s["current_period_end"]) == dt.datetime.fromtimestamp(T0 + 60 * DAY, dt.UTC),
        "renewed by invoice.paid",
    )
    # An invoice of a Stripe subscription smile did not make is acknowledged and ignored.
    post_event(
        evt(
            "evt_s4x",
            "invoice.paid",
            invoice("in_x", "subscription_cycle", 500, T0, T0 + DAY, "sub_other"),
            T0 + 30 * DAY,
        )
    )
    wait_for(
        lambda: db.execute("SELECT count(*) FROM payment_events WHERE handled_at IS NULL").fetchone()[0] == 0,
        message="events handled",
    )
    assert ledger_sum(db, "subscription_payment", uid(api)) == [999, 999]
    assert db.execute("SELECT count(*) FROM ledger_transactions WHERE kind = 'subscription_payment'").fetchone()[0] == 2

    # The next renewal fails, then the retry succeeds.
    failed = invoice("in_3", "subscription_cycle", 0, T0 + 60 * DAY, T0 + 90 * DAY)
    post_event(evt("evt_s6", "invoice.payment_failed", failed, T0 + 60 * DAY))
    wait_sub(api, lambda s: s["status"] == "past_due", "past due after invoice.payment_failed")
    paid = invoice("in_3", "subscription_cycle", 999, T0 + 60 * DAY, T0 + 90 * DAY)
    post_event(evt("evt_s7", "invoice.paid", paid, T0 + 61 * DAY))
    sub = wait_sub(api, lambda s: s["status"] == "active", "active again")
    assert sub["past_due_since"] is None
    assert ledger_sum(db, "subscription_payment", uid(api)) == [999, 999, 999]

    # Cancel at period end goes to Stripe with an idempotency key; a late, older update does not undo it.
    r = api.post(f"/api/v1/billing/subscriptions/{sub['id']}/cancel")
    assert r.status_code == 200 and r.json()["cancel_at_period_end"] is True
    [cancel_call] = stripe_mode.calls("/v1/subscriptions/sub_test_9")
    assert cancel_call.params == {"cancel_at_period_end": "true"} and cancel_call.idempotency_key
    post_event(
        evt(
            "evt_s8",
            "customer.subscription.updated",
            subscription("active", T0 + 60 * DAY, T0 + 90 * DAY, cancel=True),
            T0 + 62 * DAY,
        )
    )
    post_event(
        evt(
            "evt_s9",
            "customer.subscription.updated",
            subscription("active", T0 + 60 * DAY, T0 + 90 * DAY, cancel=False),
            T0 + 61 * DAY + 5,
        )
    )
    wait_for(
        lambda: db.execute("SELECT count(*) FROM payment_events WHERE handled_at IS NULL").fetchone()[0] == 0,
        message="events handled",
    )
    assert subs(api)[0]["cancel_at_period_end"] is True

    # Plan changes happen in Stripe's portal; a change made there is applied from the price's plan.
    r = api.post(f"/api/v1/billing/subscriptions/{sub['id']}/change", json={"plan": "business"})
    assert r.status_code == 409 and r.json()["error"] == "use_portal"
    business = next(p for p in api.get("/api/v1/billing/plans").json() if p["code"] == "business")
    post_event(
        evt(
            "evt_s10",
            "customer.subscription.updated",
            subscription("active", T0 + 60 * DAY, T0 + 90 * DAY, plan_id=business["id"]),
            T0 + 63 * DAY,
        )
    )
    sub = wait_sub(api, lambda s: s["plan"]["code"] == "business", "plan changed in the portal")
    assert sub["cancel_at_period_end"] is False

    # Stripe ends it.
    ended = subscription("canceled", T0 + 60 * DAY, T0 + 90 * DAY)
    ended["ended_at"] = T0 + 90 * DAY
    post_event(evt("evt_s11", "customer.subscription.deleted", ended, T0 + 90 * DAY))
    sub = wait_sub(api, lambda s: s["status"] == "canceled", "deleted by Stripe")
    assert at(sub["ended_at"]) == dt.datetime.fromtimestamp(T0 + 90 * DAY, dt.UTC)
    assert "creator_tools" not in api.get("/api/v1/billing/entitlements").json()["entitlements"]
    assert call(verify) == []
