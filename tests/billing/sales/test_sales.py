"""Sales over real HTTP: the fee split, credit and card payment, escrow release, confirmation and refunds."""

from __future__ import annotations

import datetime as dt

import pytest

from smile.billing.sales.service import fee_overrides, split
from tests.billing.sales.conftest import API, TEN, buy
from tests.billing.support import pay_sandbox, wait_for

DAY = dt.timedelta(days=1)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.mark.parametrize(
    "price, percent, fee, seller",
    [
        (1999, 30, 599, 1400),  # 599.7 rounds down: the seller gets the odd cent
        (1, 30, 0, 1),
        (3, 30, 0, 3),
        (999, 30, 299, 700),
        (1001, 15, 150, 851),
        (100_000_001, 30, 30_000_000, 70_000_001),
        (777, 0, 0, 777),
        (777, 100, 777, 0),
    ],
)
def test_fee_is_floor_of_price_times_percent_and_seller_gets_the_rest(price, percent, fee, seller):
    share = split(price, percent)
    assert (share.fee, share.seller) == (fee, seller)
    assert share.fee + share.seller == price


def test_fee_overrides_parse_and_skip_malformed_entries():
    assert fee_overrides("agent=20, mentoring=15,,bad,x=1,ebook=101,Caps=5,course=0") == {
        "agent": 20,
        "mentoring": 15,
        "course": 0,
    }


def test_credit_sale_pays_the_platform_value_of_the_credits_split_exactly(signup, listing, fund, balance, violations):
    seller, buyer = signup(), signup()
    product = listing(seller, price=1999, credit_price=2501)  # the cash price plays no part in a credit sale
    fund(buyer.user["id"], 3000)

    r = buy(buyer, product["id"])
    assert r.status_code == 201, r.text
    body = r.json()
    sale = body["sale"]
    assert body["checkout_url"] is None
    # 2,501 credits at 900 per 1,000 are worth 2,250 (rounded down); 30% of it is 675
    assert (sale["status"], sale["price"], sale["fee"], sale["seller_amount"], sale["fee_percent"]) == (
        "escrow",
        2250,
        675,
        1575,
        30,
    )
    assert sale["credit_price"] == 2501 and sale["method"] == "credits"
    assert balance(buyer.user["id"], "wallet", "CRD") == 499
    assert balance(seller.user["id"], "escrow") == 1575
    assert balance(seller.user["id"], "earnings") == 0
    assert balance(None, "fees") == 675
    assert balance(None, "issuance", "CRD") == 2501 - 3000  # the spent credits are retired
    assert balance(None, "issuance") == -2250
    assert violations() == []
    # both sides see it; a stranger gets 404
    assert seller.get(f"{API}/sales/{sale['id']}").json()["status"] == "escrow"
    assert buyer.get(f"{API}/sales", params={"role": "buyer"}).json()["items"][0]["id"] == sale["id"]
    assert signup().get(f"{API}/sales/{sale['id']}").status_code == 404


def test_per_type_fee_override_applies(signup, listing, fund, settings, monkeypatch):
    monkeypatch.setattr(settings, "platform_fee_overrides", "mentoring=15")
    seller, buyer = signup(), signup()
    product = listing(seller, price=5, credit_price=1113, product_type="mentoring")  # 1,113 credits are worth 10.01
    fund(buyer.user["id"], 1113)
    sale = buy(buyer, product["id"]).json()["sale"]
    assert (sale["fee_percent"], sale["fee"], sale["seller_amount"]) == (15, 150, 851)


def test_short_wallet_is_402_and_leaves_no_sale(signup, listing, fund, balance, db):
    seller, buyer = signup(), signup()
    product = listing(seller, credit_price=2000)
    fund(buyer.user["id"], 1999)
    r = buy(buyer, product["id"])
    assert r.status_code == 402 and r.json()["error"] == "insufficient_funds"
    assert balance(buyer.user["id"], "wallet", "CRD") == 1999
    assert db.execute("SELECT count(*) FROM sales").fetchone()[0] == 0


def test_bad_purchases_are_clear_4xx(signup, listing, fund):
    seller, buyer = signup(), signup()
    card_only = listing(seller, credit_price=None)
    assert buy(buyer, card_only["id"]).status_code == 422  # no credit price
    assert buy(seller, card_only["id"]).json()["error"] == "own_product"
    assert buy(buyer, card_only["id"], method="cash").status_code == 422
    assert buy(buyer, "00000000-0000-0000-0000-000000000000").status_code == 404
    r = seller.patch(f"{API}/listings/{card_only['id']}", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert buy(buyer, card_only["id"], method="card").status_code == 404  # off sale: hidden from buyers
    assert seller.post(f"{API}/listings", json={"title": "x", "price": -5}).status_code == 422
    assert (
        seller.post(f"{API}/listings", json={"title": "x", "price": 5, "product_type": "Bad Type"}).status_code == 422
    )


def test_replaying_an_idempotency_key_returns_the_same_sale_and_charges_once(signup, listing, fund, balance):
    seller, buyer = signup(), signup()
    product = listing(seller, credit_price=100)
    fund(buyer.user["id"], 1000)
    first = buy(buyer, product["id"], idempotency_key="purchase-0001").json()["sale"]
    again = buy(buyer, product["id"], idempotency_key="purchase-0001").json()["sale"]
    assert again["id"] == first["id"]
    assert balance(buyer.user["id"], "wallet", "CRD") == 900


def test_escrow_is_released_by_the_job_once_due(signup, listing, fund, balance, release_job, violations):
    seller, buyer = signup(), signup()
    product = listing(seller, price=1000, credit_price=TEN)
    fund(buyer.user["id"], TEN)
    sale = buy(buyer, product["id"]).json()["sale"]
    until = dt.datetime.fromisoformat(sale["escrow_until"])
    assert dt.timedelta(days=6, hours=23) < until - now() <= dt.timedelta(days=7)

    assert release_job(until - dt.timedelta(minutes=1)) == 0  # not due yet
    assert balance(seller.user["id"], "escrow") == 700
    assert release_job(until + dt.timedelta(seconds=1)) == 1  # the job's clock has whole seconds
    assert seller.get(f"{API}/sales/{sale['id']}").json()["status"] == "released"
    assert balance(seller.user["id"], "escrow") == 0
    assert balance(seller.user["id"], "earnings") == 700
    assert release_job(until + DAY) == 0  # nothing twice
    assert balance(seller.user["id"], "earnings") == 700
    assert violations() == []


def test_buyer_confirmation_releases_early_and_only_the_buyer_may(signup, listing, fund, balance, release_job):
    seller, buyer = signup(), signup()
    product = listing(seller, price=1000, credit_price=TEN)
    fund(buyer.user["id"], TEN)
    sale = buy(buyer, product["id"]).json()["sale"]
    assert seller.post(f"{API}/sales/{sale['id']}/confirm").status_code == 404
    r = buyer.post(f"{API}/sales/{sale['id']}/confirm")
    assert r.status_code == 200 and r.json()["status"] == "released"
    assert balance(seller.user["id"], "earnings") == 700
    again = buyer.post(f"{API}/sales/{sale['id']}/confirm")
    assert again.status_code == 409 and again.json()["error"] == "escrow_released"
    assert release_job(now() + 30 * DAY) == 0


def test_refund_inside_the_window_restores_the_buyer_and_empties_escrow(
    signup, listing, fund, balance, violations, release_job
):
    seller, buyer = signup(), signup()
    product = listing(seller, price=1999, credit_price=2500)
    fund(buyer.user["id"], 2500)
    sale = buy(buyer, product["id"]).json()["sale"]

    assert buyer.post(f"{API}/sales/{sale['id']}/refund", json={}).status_code == 403  # the buyer asks the seller
    assert signup().post(f"{API}/sales/{sale['id']}/refund", json={}).status_code == 404
    r = seller.post(f"{API}/sales/{sale['id']}/refund", json={"reason": "Out of stock"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "refunded" and r.json()["refund_reason"] == "Out of stock"
    assert balance(buyer.user["id"], "wallet", "CRD") == 2500
    assert balance(seller.user["id"], "escrow") == 0
    assert balance(None, "fees") == 0
    assert release_job(now() + 30 * DAY) == 0  # a refunded sale is never released
    assert balance(seller.user["id"], "earnings") == 0
    again = seller.post(f"{API}/sales/{sale['id']}/refund", json={})
    assert again.status_code == 409 and again.json()["error"] == "already_refunded"
    assert violations() == []


def test_refund_after_release_is_refused_with_a_clear_409(signup, listing, fund, balance, release_job, admin):
    seller, buyer = signup(), signup()
    product = listing(seller, price=1000, credit_price=TEN)
    fund(buyer.user["id"], TEN)
    sale = buy(buyer, product["id"]).json()["sale"]
    release_job(now() + 8 * DAY)
    for who in (seller, admin):
        r = who.post(f"{API}/sales/{sale['id']}/refund", json={"reason": "late"})
        assert r.status_code == 409
        assert r.json()["error"] == "escrow_released" and "escrow window closed" in r.json()["detail"]
    assert balance(seller.user["id"], "earnings") == 700
    assert balance(buyer.user["id"], "wallet", "CRD") == 0


def test_admin_can_refund_inside_the_window(signup, listing, fund, balance, admin):
    seller, buyer = signup(), signup()
    product = listing(seller, price=1000, credit_price=TEN)
    fund(buyer.user["id"], TEN)
    sale = buy(buyer, product["id"]).json()["sale"]
    assert admin.post(f"{API}/sales/{sale['id']}/refund", json={"reason": "fraud report"}).status_code == 200
    assert balance(buyer.user["id"], "wallet", "CRD") == TEN


def test_card_sale_through_the_sandbox_then_refund_returns_the_card_payment(signup, listing, balance, violations, db):
    seller, buyer = signup(), signup()
    product = listing(seller, price=1999, credit_price=None)
    r = buy(buyer, product["id"], method="card")
    assert r.status_code == 201, r.text
    sale, url = r.json()["sale"], r.json()["checkout_url"]
    assert sale["status"] == "pending" and url
    assert seller.get(f"{API}/sales").json()["items"] == []  # unpaid sales are not the seller's business yet

    pay_sandbox(buyer, url)
    wait_for(lambda: buyer.get(f"{API}/sales/{sale['id']}").json()["status"] == "escrow", message="sale paid")
    assert balance(None, "clearing") == -1999
    assert balance(None, "fees") == 599
    assert balance(seller.user["id"], "escrow") == 1400

    r = seller.post(f"{API}/sales/{sale['id']}/refund", json={"reason": "Wrong file"})
    assert r.status_code == 200, r.text
    assert balance(seller.user["id"], "escrow") == 0 and balance(None, "clearing") == 0
    payment_id = db.execute("SELECT payment_id FROM sales WHERE id = %s", (sale["id"],)).fetchone()[0]
    wait_for(
        lambda: db.execute("SELECT refunded FROM payments WHERE id = %s", (payment_id,)).fetchone()[0] == 1999,
        message="card refunded",
    )
    assert db.execute("SELECT status FROM sales WHERE id = %s", (sale["id"],)).fetchone()[0] == "refunded"
    assert violations() == []


def test_declined_card_fails_the_sale_and_moves_nothing(signup, listing, balance):
    seller, buyer = signup(), signup()
    product = listing(seller, price=500, credit_price=None)
    started = buy(buyer, product["id"], method="card").json()
    pay_sandbox(buyer, started["checkout_url"], "decline")
    wait_for(
        lambda: buyer.get(f"{API}/sales/{started['sale']['id']}").json()["status"] == "failed", message="sale failed"
    )
    assert balance(seller.user["id"], "escrow") == 0


def test_frozen_buyer_cannot_spend(signup, listing, fund, balance, admin):
    seller, buyer = signup(), signup()
    product = listing(seller, credit_price=100)
    fund(buyer.user["id"], 500)
    r = admin.post(f"{API}/admin/users/{buyer.user['id']}/freeze", json={"reason": "chargebacks"})
    assert r.status_code == 200 and r.json()["frozen"] is True
    for method in ("credits", "card"):
        r = buy(buyer, product["id"], method=method)
        assert r.status_code == 403 and r.json()["error"] == "account_frozen"
    assert balance(buyer.user["id"], "wallet", "CRD") == 500
    assert admin.post(f"{API}/admin/users/{buyer.user['id']}/unfreeze", json={}).status_code == 200
    assert buy(buyer, product["id"]).status_code == 201


def test_a_processor_refund_after_release_is_absorbed_by_the_platform(
    signup, listing, balance, violations, db, server, release_job
):
    """A refund made at the processor itself (e.g. a dashboard refund) once the seller was paid."""
    from smile.billing.payments import service as payments
    from smile.kit import runtime

    seller, buyer = signup(), signup()
    product = listing(seller, price=1999, credit_price=None)
    started = buy(buyer, product["id"], method="card").json()
    sale_id = started["sale"]["id"]
    pay_sandbox(buyer, started["checkout_url"])
    wait_for(lambda: buyer.get(f"{API}/sales/{sale_id}").json()["status"] == "escrow", message="sale paid")
    release_job(now() + 8 * DAY)
    payment_id = db.execute("SELECT payment_id FROM sales WHERE id = %s", (sale_id,)).fetchone()[0]

    async def refund_at_processor():
        async with runtime.current().db.session() as session:
            await payments.refund(session, payment_id, 1999, key="dashboard-refund", reason="chargeback")

    server.call(refund_at_processor())
    wait_for(lambda: balance(None, "refunds") == -1999, message="refund absorbed")
    assert balance(None, "clearing") == 0
    assert balance(seller.user["id"], "earnings") == 1400  # the seller keeps what was released
    assert buyer.get(f"{API}/sales/{sale_id}").json()["status"] == "released"
    assert violations() == []
