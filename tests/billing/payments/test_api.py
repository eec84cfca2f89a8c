"""Payment history, renewals of saved sandbox cards, sandbox transfers and the sandbox portal."""

from __future__ import annotations

from smile.billing.payments import hooks, service
from tests.billing.conftest import stripe_event
from tests.billing.support import pay_sandbox, wait_for

TRANSFERS: list[dict] = []


@hooks.event("transfer.created")
async def _transfer_created(db, source, event) -> None:
    TRANSFERS.append({"source": source, **event["data"]["object"]})


def test_history_is_paginated_and_private(signup, start_checkout):
    buyer, other = signup(), signup()
    made = [start_checkout(buyer.user["id"], 100 + i) for i in range(5)]
    r = buyer.get("/api/v1/billing/payments", params={"limit": 2})
    assert r.status_code == 200
    first = r.json()
    assert [p["amount"] for p in first["items"]] == [104, 103] and first["next_cursor"]
    rest = buyer.get("/api/v1/billing/payments", params={"limit": 10, "cursor": first["next_cursor"]}).json()
    assert [p["amount"] for p in rest["items"]] == [102, 101, 100] and rest["next_cursor"] is None
    item = first["items"][0]
    assert item["status"] == "pending" and item["currency"] == "USD" and item["checkout_url"]
    assert other.get("/api/v1/billing/payments").json()["items"] == []
    assert other.get(f"/api/v1/billing/payments/{made[0].id}").status_code == 404
    assert buyer.get(f"/api/v1/billing/payments/{made[0].id}").json()["amount"] == 100
    assert buyer.get("/api/v1/billing/payments", params={"cursor": "!!"}).status_code == 422
    page = buyer.get("/billing/payments", headers={"accept": "text/html"})
    assert page.status_code == 200 and "1.04 USD" in page.text


def test_renewal_charges_the_saved_card_or_declines(signup, start_checkout, call, payment_row, ledger_counts):
    from smile.billing.payments.provider import Recurring

    buyer, forgetful = signup(), signup()
    first = start_checkout(buyer.user["id"], 900, recurring=Recurring("month", 0, "plan"))
    pay_sandbox(buyer, first.checkout_url)
    wait_for(lambda: payment_row(first.id)["status"] == "paid", message="first period paid")
    assert payment_row(first.id)["subscription_ref"] == f"sub_sbx_{first.id.hex}"

    renewal = start_checkout(buyer.user["id"], 900)
    call(lambda db: service.charge_saved(db, renewal))
    wait_for(lambda: payment_row(renewal.id)["status"] == "paid", message="renewal paid off-session")
    wait_for(lambda: ledger_counts(renewal.id) == {"test_sale": 1}, message="renewal hook")

    other = start_checkout(forgetful.user["id"], 900)
    pay_sandbox(forgetful, other.checkout_url, save_card=True, renewals_decline=True)
    wait_for(lambda: payment_row(other.id)["status"] == "paid", message="paid")
    renewal = start_checkout(forgetful.user["id"], 900)
    call(lambda db: service.charge_saved(db, renewal))
    wait_for(lambda: payment_row(renewal.id)["status"] == "declined", message="renewal declined")
    wait_for(lambda: ledger_counts(renewal.id) == {"test_failed": 1}, message="failed hook")


def test_sandbox_portal_forgets_the_card(signup, start_checkout, call, payment_row):
    buyer = signup()
    assert buyer.post("/api/v1/billing/portal").status_code == 404  # no card used yet
    payment = start_checkout(buyer.user["id"], 500)
    pay_sandbox(buyer, payment.checkout_url, save_card=True)
    url = buyer.post("/api/v1/billing/portal").json()["url"]
    assert url.startswith("/billing/sandbox/portal")
    assert "A sandbox card is saved" in buyer.get(url, headers={"accept": "text/html"}).text
    assert buyer.post("/billing/sandbox/portal/forget-card").status_code == 303
    renewal = start_checkout(buyer.user["id"], 500)
    call(lambda db: service.charge_saved(db, renewal))
    wait_for(lambda: payment_row(renewal.id)["status"] == "declined", message="no card: declined")


def test_sandbox_transfer_emits_its_event(server, call):
    TRANSFERS.clear()
    transfer_id = call(
        lambda db: service.transfer(
            db, amount=1234, currency="usd", destination="acct_sbx_1", key="payout:test:1", description="Payout"
        )
    )
    assert transfer_id.startswith("tr_sbx_")
    again = call(
        lambda db: service.transfer(
            db, amount=1234, currency="usd", destination="acct_sbx_1", key="payout:test:1", description="Payout"
        )
    )
    assert again == transfer_id
    wait_for(lambda: TRANSFERS, message="transfer.created handled")
    assert TRANSFERS[0]["id"] == transfer_id and TRANSFERS[0]["amount"] == 1234
    assert TRANSFERS[0]["metadata"] == {"key": "payout:test:1"} and TRANSFERS[0]["source"] == "sandbox"


def test_sandbox_webhook_endpoint_accepts_sandbox_signed_events(signup, start_checkout, post_event, payment_row):
    buyer = signup()
    payment = start_checkout(buyer.user["id"], 800)
    event = stripe_event(
        "evt_manual_1",
        "checkout.session.completed",
        {
            "id": payment.provider_ref,
            "object": "checkout.session",
            "mode": "payment",
            "payment_status": "paid",
            "amount_total": 800,
            "payment_intent": "pi_manual",
            "metadata": {},
        },
    )
    r = post_event(event, source="sandbox")
    assert r.status_code == 200 and r.json()["duplicate"] is False
    wait_for(lambda: payment_row(payment.id)["status"] == "paid", message="found by checkout session id")
    assert payment_row(payment.id)["charge_ref"] == "pi_manual"
    assert post_event(event, source="sandbox", secret="whsec_other").status_code == 400
