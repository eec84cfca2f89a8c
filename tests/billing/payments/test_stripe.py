"""The Stripe provider through the official SDK against a Stripe-shaped local server,
and webhooks signed with Stripe's scheme posted over HTTP."""

from __future__ import annotations

import random

from smile.billing.payments import service
from tests.billing.conftest import stripe_event
from tests.billing.support import wait_for


def _completed(payment, session_id: str, amount: int | None = None) -> dict:
    return stripe_event(
        f"evt_paid_{payment.id.hex}",
        "checkout.session.completed",
        {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "payment_status": "paid",
            "status": "complete",
            "amount_total": payment.amount if amount is None else amount,
            "currency": "usd",
            "payment_intent": f"pi_{payment.id.hex}",
            "customer": "cus_test_1",
            "metadata": {"payment_id": str(payment.id)},
        },
    )


def test_checkout_session_through_the_sdk(signup, stripe_mode, start_checkout, db):
    buyer = signup()
    payment = start_checkout(buyer.user["id"], 2500, key="test:stripe:1")
    assert payment.provider == "stripe" and payment.checkout_url.startswith("https://checkout.stripe.test/")
    [call] = stripe_mode.calls("/v1/checkout/sessions")
    assert call.idempotency_key == f"checkout:{payment.id}"
    assert call.authorization == "Bearer sk_test_smile"
    assert call.params["mode"] == "payment"
    assert call.params["line_items[0][price_data][unit_amount]"] == "2500"
    assert call.params["line_items[0][price_data][currency]"] == "usd"
    assert call.params["metadata[payment_id]"] == str(payment.id)
    assert call.params["payment_intent_data[metadata][payment_id]"] == str(payment.id)
    assert call.params["success_url"] == "http://testserver.local/billing/payments?done=1"
    again = start_checkout(buyer.user["id"], 2500, key="test:stripe:1")
    assert again.id == payment.id and len(stripe_mode.calls("/v1/checkout/sessions")) == 1


def test_subscription_checkout_sends_recurring_price(signup, stripe_mode, start_checkout):
    from smile.billing.payments.provider import Recurring

    buyer = signup()
    payment = start_checkout(buyer.user["id"], 900, recurring=Recurring("month", 14, "plan-pro"))
    [call] = stripe_mode.calls("/v1/checkout/sessions")
    assert call.params["mode"] == "subscription" and payment.mode == "subscription"
    assert call.params["line_items[0][price_data][recurring][interval]"] == "month"
    assert call.params["subscription_data[trial_period_days]"] == "14"


def test_bad_signature_is_400_and_stores_nothing(signup, stripe_mode, start_checkout, post_event, db):
    buyer = signup()
    payment = start_checkout(buyer.user["id"], 1000)
    event = _completed(payment, payment.provider_ref)
    for r in (
        post_event(event, secret="whsec_wrong"),
        post_event(event, signature="t=1,v1=deadbeef"),
        post_event(event, signature=""),
        post_event(event, source="sandbox", secret="whsec_test_smile_payments"),
    ):
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "bad_signature" and r.json()["detail"]
    assert post_event(event, source="paypal").status_code == 404
    assert db.execute("SELECT count(*) FROM payment_events").fetchone()[0] == 0
    assert db.execute("SELECT status FROM payments WHERE id = %s", (payment.id,)).fetchone()[0] == "pending"


def test_paid_webhook_and_duplicates(signup, stripe_mode, start_checkout, post_event, payment_row, ledger_counts):
    buyer = signup()
    payment = start_checkout(buyer.user["id"], 1000)
    event = _completed(payment, payment.provider_ref)
    first = post_event(event)
    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    assert post_event(event).json() == {"received": True, "duplicate": True}
    wait_for(lambda: payment_row(payment.id)["status"] == "paid", message="paid")
    row = payment_row(payment.id)
    assert (row["charge_ref"], row["customer_ref"]) == (f"pi_{payment.id.hex}", "cus_test_1")
    wait_for(lambda: ledger_counts(payment.id) == {"test_sale": 1}, message="one sale")
    # the next checkout of this buyer reuses the Stripe customer
    start_checkout(buyer.user["id"], 500)
    assert stripe_mode.calls("/v1/checkout/sessions")[-1].params["customer"] == "cus_test_1"


def test_amount_mismatch_is_not_marked_paid(signup, stripe_mode, start_checkout, post_event, db):
    buyer = signup()
    payment = start_checkout(buyer.user["id"], 1000)
    assert post_event(_completed(payment, payment.provider_ref, amount=1)).status_code == 200
    wait_for(lambda: db.execute("SELECT handled_at IS NOT NULL FROM payment_events").fetchone()[0], message="handled")
    assert db.execute("SELECT status FROM payments WHERE id = %s", (payment.id,)).fetchone()[0] == "pending"


def _events(stub, payment) -> list[dict]:
    """paid, a dashboard refund announced by charge.refunded, and one announced by refund.created."""
    pi = f"pi_{payment.id.hex}"
    dashboard = stub.add_refund(pi, 300)
    ours = stub.add_refund(pi, 200, {"payment_id": str(payment.id), "key": f"test:{payment.id}:refund"})
    return (
        [
            _completed(payment, payment.provider_ref),
            stripe_event(
                f"evt_ch_{payment.id.hex}",
                "charge.refunded",
                {
                    "id": f"ch_for_{pi}",
                    "object": "charge",
                    "payment_intent": pi,
                    "amount": 1000,
                    "amount_refunded": 300,
                    "refunded": False,
                    "metadata": {},
                },
            ),
            stripe_event(f"evt_re_{payment.id.hex}", "refund.created", ours),
            stripe_event(f"evt_other_{payment.id.hex}", "customer.updated", {"id": "cus_test_1", "object": "customer"}),
        ],
        dashboard,
        ours,
    )


def _final(db, payment_id) -> tuple:
    status, refunded = db.execute("SELECT status, refunded FROM payments WHERE id = %s", (payment_id,)).fetchone()
    legs = db.execute(
        "SELECT a.purpose, a.currency, sum(e.amount) FROM ledger_entries e JOIN ledger_transactions t "
        "ON t.id = e.transaction_id JOIN ledger_accounts a ON a.id = e.account_id WHERE t.reference_id = %s "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        (str(payment_id),),
    ).fetchall()
    kinds = db.execute(
        "SELECT kind, count(*) FROM ledger_transactions WHERE reference_id = %s GROUP BY 1 ORDER BY 1",
        (str(payment_id),),
    ).fetchall()
    return status, refunded, legs, kinds


def test_replayed_and_out_of_order_events_reach_the_in_order_state(signup, stripe_mode, start_checkout, post_event, db):
    buyer = signup()
    in_order, shuffled = start_checkout(buyer.user["id"], 1000), start_checkout(buyer.user["id"], 1000)
    events, _, _ = _events(stripe_mode, in_order)
    for event in events:
        assert post_event(event).status_code == 200

    events, dashboard, _ = _events(stripe_mode, shuffled)
    deliveries = [e for e in events for _ in range(20)]
    random.Random(4).shuffle(deliveries)
    deliveries.sort(key=lambda e: e["type"] == "checkout.session.completed")  # every refund before the payment
    results = [post_event(e) for e in deliveries]
    assert all(r.status_code == 200 for r in results)
    assert sum(not r.json()["duplicate"] for r in results) == len(events)

    def all_handled():
        return db.execute("SELECT count(*) FILTER (WHERE handled_at IS NULL) FROM payment_events").fetchone()[0] == 0

    wait_for(all_handled, timeout=60, message="every event handled")
    expected = (
        "partially_refunded",
        500,
        [("clearing", "USD", -500), ("revenue", "USD", 500)],
        [("test_refund", 2), ("test_sale", 1)],
    )
    assert _final(db, in_order.id) == expected
    assert _final(db, shuffled.id) == expected
    keys = {
        r[0]
        for r in db.execute(
            "SELECT idempotency_key FROM ledger_transactions WHERE kind = 'test_refund' AND reference_id = %s",
            (str(shuffled.id),),
        ).fetchall()
    }
    assert keys == {f"test:{shuffled.id}:refund", f"payment:{shuffled.id}:refund:{dashboard['id']}"}


def test_refund_transfer_portal_and_subscription_calls_carry_idempotency_keys(
    signup, stripe_mode, start_checkout, post_event, payment_row, call
):
    buyer = signup()
    payment = start_checkout(buyer.user["id"], 1000)
    post_event(_completed(payment, payment.provider_ref))
    wait_for(lambda: payment_row(payment.id)["status"] == "paid", message="paid")

    call(lambda db: service.refund(db, payment.id, 250, key="sale:1:refund", reason="asked"))
    call(lambda db: service.refund(db, payment.id, 250, key="sale:1:refund", reason="asked"))
    [refund] = stripe_mode.calls("/v1/refunds")
    assert refund.idempotency_key == "refund:sale:1:refund"
    assert (refund.params["amount"], refund.params["payment_intent"]) == ("250", f"pi_{payment.id.hex}")
    assert refund.params["metadata[key]"] == "sale:1:refund"

    transfer_id = call(
        lambda db: service.transfer(
            db, amount=5000, currency="usd", destination="acct_123", key="payout:9", description="Payout"
        )
    )
    [transfer] = stripe_mode.calls("/v1/transfers")
    assert transfer_id.startswith("tr_test_") and transfer.idempotency_key == "transfer:payout:9"
    assert (transfer.params["destination"], transfer.params["amount"]) == ("acct_123", "5000")

    prov = service.provider()
    call(lambda db: prov.cancel_subscription("sub_1", at_period_end=True, key="sub:1"))
    call(lambda db: prov.resume_subscription("sub_1", key="sub:1"))
    call(lambda db: prov.cancel_subscription("sub_1", at_period_end=False, key="sub:1:now"))
    subs = stripe_mode.calls("/v1/subscriptions/sub_1") + stripe_mode.calls("/v1/subscriptions/sub_1", "DELETE")
    assert [c.idempotency_key for c in subs] == ["cancel:sub:1", "resume:sub:1", "cancel:sub:1:now"]

    r = buyer.post("/api/v1/billing/portal")
    assert r.status_code == 200 and r.json()["url"].startswith("https://billing.stripe.test/session/")
    [portal] = stripe_mode.calls("/v1/billing_portal/sessions")
    assert portal.params["customer"] == "cus_test_1"


def test_refund_of_unpaid_payment_is_refused(signup, stripe_mode, start_checkout, call):
    import pytest

    from smile.kit.errors import Conflict

    buyer = signup()
    payment = start_checkout(buyer.user["id"], 1000)
    with pytest.raises(Conflict):
        call(lambda db: service.refund(db, payment.id, 100, key="x"))
    assert stripe_mode.calls("/v1/refunds") == []
