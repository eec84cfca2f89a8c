"""The sandbox checkout end to end: page, signed event, webhook pipeline, job, hooks."""

from __future__ import annotations

from tests.billing.support import pay_sandbox, wait_for


def test_pay_marks_paid_and_runs_the_hook_once(signup, start_checkout, payment_row, ledger_counts, db):
    buyer = signup()
    payment = start_checkout(buyer.user["id"], 1500)
    assert payment.checkout_url == f"/billing/sandbox/checkout/{payment.id}"
    page = buyer.get(payment.checkout_url, headers={"accept": "text/html"})
    assert page.status_code == 200 and "15.00 USD" in page.text and "A test widget" in page.text

    r = pay_sandbox(buyer, payment.checkout_url)
    assert r.headers["location"] == "/billing/payments?done=1"
    wait_for(lambda: payment_row(payment.id)["status"] == "paid", message="payment paid")
    wait_for(lambda: ledger_counts(payment.id) == {"test_sale": 1}, message="one sale posted")
    row = payment_row(payment.id)
    assert row["charge_ref"] == f"pi_sbx_{payment.id.hex}" and row["customer_ref"].startswith("cus_sbx_")
    assert (
        db.execute(
            "SELECT count(*) FROM payment_events WHERE payment_id = %s AND handled_at IS NOT NULL", (payment.id,)
        ).fetchone()[0]
        == 1
    )
    page = buyer.get(payment.checkout_url, headers={"accept": "text/html"})
    assert "This checkout is closed" in page.text


def test_decline_and_abandon(signup, start_checkout, payment_row, ledger_counts):
    buyer = signup()
    declined, abandoned = start_checkout(buyer.user["id"], 900), start_checkout(buyer.user["id"], 900)
    assert pay_sandbox(buyer, declined.checkout_url, "decline").headers["location"] == "/billing/payments?cancelled=1"
    pay_sandbox(buyer, abandoned.checkout_url, "abandon")
    wait_for(lambda: payment_row(declined.id)["status"] == "declined", message="declined")
    wait_for(lambda: payment_row(abandoned.id)["status"] == "expired", message="expired")
    wait_for(lambda: ledger_counts(declined.id) == {"test_failed": 1}, message="failed hook")
    # a declined checkout may be paid on a second try
    pay_sandbox(buyer, declined.checkout_url, "pay")
    wait_for(lambda: payment_row(declined.id)["status"] == "paid", message="paid after decline")


def test_checkout_page_is_the_buyers_only(signup, start_checkout):
    buyer, other = signup(), signup()
    payment = start_checkout(buyer.user["id"])
    assert other.get(payment.checkout_url).status_code == 404
    assert other.post(payment.checkout_url, data={"action": "pay"}).status_code == 404
    assert buyer.get("/billing/sandbox/checkout/00000000-0000-7000-8000-000000000000").status_code == 404


def test_start_checkout_is_idempotent_on_key(signup, start_checkout):
    buyer = signup()
    first = start_checkout(buyer.user["id"], 700, key="test:same")
    again = start_checkout(buyer.user["id"], 700, key="test:same")
    assert again.id == first.id and again.checkout_url == first.checkout_url


def test_refund_runs_the_refund_hook(signup, start_checkout, call, payment_row, ledger_counts):
    from smile.billing.payments import service

    buyer = signup()
    payment = start_checkout(buyer.user["id"], 1000)
    pay_sandbox(buyer, payment.checkout_url)
    wait_for(lambda: payment_row(payment.id)["status"] == "paid", message="paid")
    call(lambda db: service.refund(db, payment.id, 400, key=f"test:{payment.id}:r1", reason="test"))
    call(lambda db: service.refund(db, payment.id, 400, key=f"test:{payment.id}:r1", reason="test"))  # replay
    wait_for(lambda: payment_row(payment.id)["status"] == "partially_refunded", message="partial refund")
    call(lambda db: service.refund(db, payment.id, 600, key=f"test:{payment.id}:r2", reason="test"))
    wait_for(lambda: payment_row(payment.id)["status"] == "refunded", message="refunded")
    assert payment_row(payment.id)["refunded"] == 1000
    wait_for(lambda: ledger_counts(payment.id) == {"test_sale": 1, "test_refund": 2}, message="refund hooks")
