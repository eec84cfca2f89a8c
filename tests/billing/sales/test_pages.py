"""The HTML pages: earnings dashboard, product page and purchase by form, purchases, admin payouts and freeze."""

from __future__ import annotations

import re

from tests.billing.sales.conftest import API, cooled
from tests.support import enable_mfa

HTML = {"Accept": "text/html"}


def page(api, url: str) -> str:
    r = api.get(url, headers=HTML)
    assert r.status_code == 200, r.text[:500]
    return r.text


def form(api, url: str, **data):
    r = api.post(url, data=data, headers=HTML)
    assert r.status_code == 303, r.text[:500]
    return r.headers["location"]


def test_buy_by_form_confirm_and_the_seller_sees_earnings(signup, listing, fund):
    seller, buyer = signup(), signup()
    product = listing(seller, price=1999, credit_price=2223)  # worth 20.00 to the seller
    fund(buyer.user["id"], 2223)

    html = page(buyer, f"/billing/listings/{product['id']}")
    assert "19.99 USD" in html and "Pay 2223 credits" in html
    where = form(buyer, f"/billing/listings/{product['id']}/buy", method="credits")
    assert where.startswith("/billing/purchases?sale=")
    html = page(buyer, where)
    assert "Paid with 2223 credits" in html and "Confirm I received it" in html

    html = page(seller, "/billing/earnings")
    assert re.search(r'id="earnings-pending">14\.00 USD<', html)
    assert product["title"] in html and "in escrow" in html and "earnings-chart" in html

    sale_id = where.split("=")[1]
    form(buyer, f"/billing/purchases/{sale_id}/confirm")
    assert re.search(r'id="earnings-available">14\.00 USD<', page(seller, "/billing/earnings"))


def test_card_buy_by_form_redirects_to_checkout(signup, listing):
    seller, buyer = signup(), signup()
    product = listing(seller, price=500, credit_price=None)
    assert "Pay 5.00 USD by card" in page(buyer, f"/billing/listings/{product['id']}")
    where = form(buyer, f"/billing/listings/{product['id']}/buy", method="card")
    assert "/billing/sandbox/checkout/" in where


def test_listing_form_parses_money_and_refuses_nonsense(signup):
    seller = signup()
    form(seller, "/billing/earnings/listings", title="Cookbook", price="12.50", credit_price="")
    form(seller, "/billing/earnings/listings", title="Bad", price="12.345")
    form(seller, "/billing/earnings/listings", title="Worse", price="-3")
    items = seller.get(f"{API}/listings").json()["items"]
    assert [(i["title"], i["price"], i["credit_price"]) for i in items] == [("Cookbook", 1250, None)]
    assert "Enter an amount like 12.50." in page(seller, "/billing/earnings")


def test_payout_form_without_two_factor_explains_and_does_nothing(signup, db):
    seller = signup()
    form(seller, "/billing/earnings/payout")
    assert "Payouts need two-factor authentication: turn it on" in page(seller, "/billing/earnings")
    assert db.execute("SELECT count(*) FROM payouts").fetchone()[0] == 0


def test_payout_form_takes_the_two_factor_code_when_the_check_is_stale(signup, listing, fund, db):
    seller, buyer = signup(), signup()
    device, _ = enable_mfa(seller)
    seller.put(f"{API}/payout-account", json={"destination": "PayPal seller@example.com"})
    cooled(db, seller)
    product = listing(seller, price=5, credit_price=2223)  # worth 20.00 to the seller
    fund(buyer.user["id"], 2223)
    sale = buyer.post(f"{API}/listings/{product['id']}/buy", json={"method": "credits"}).json()["sale"]
    buyer.post(f"{API}/sales/{sale['id']}/confirm")
    db.execute("UPDATE auth_sessions SET mfa_at = now() - interval '1 day' WHERE user_id = %s", (seller.user["id"],))

    assert 'name="code"' in page(seller, "/billing/earnings")
    form(seller, "/billing/earnings/payout")
    assert "Enter your two-factor code" in page(seller, "/billing/earnings")
    form(seller, "/billing/earnings/payout", code="000000")
    assert db.execute("SELECT count(*) FROM payouts").fetchone()[0] == 0
    form(seller, "/billing/earnings/payout", code=device.code())
    assert db.execute("SELECT status, amount FROM payouts").fetchone() == ("review", 1400)  # a first payout
    assert "Payout requested." in page(seller, "/billing/earnings")


def test_admin_payouts_page_marks_paid_and_freezes(signup, listing, fund, admin, db):
    seller, buyer = signup(), signup()
    enable_mfa(seller)
    seller.put(f"{API}/payout-account", json={"destination": "PayPal seller@example.com"})
    cooled(db, seller)
    product = listing(seller, price=5, credit_price=2223)  # worth 20.00 to the seller
    fund(buyer.user["id"], 2223)
    sale = buyer.post(f"{API}/listings/{product['id']}/buy", json={"method": "credits"}).json()["sale"]
    buyer.post(f"{API}/sales/{sale['id']}/confirm")
    form(seller, "/billing/earnings/payout")
    payout_id = db.execute("SELECT id FROM payouts").fetchone()[0]

    assert seller.get("/admin/finance/payouts", headers=HTML).status_code == 404
    html = page(admin, "/admin/finance/payouts")  # the review queue first
    assert f"@{seller.user['username']}" in html and "14.00 USD" in html and "PayPal seller@example.com" in html
    assert "review: first payout" in html and f"/admin/finance/payouts/{payout_id}/approve" in html
    form(admin, f"/admin/finance/payouts/{payout_id}/approve")
    assert "Payout approved." in page(admin, "/admin/finance/payouts?status=requested")
    form(admin, f"/admin/finance/payouts/{payout_id}/paid", reference="PP-42")
    assert db.execute("SELECT status, transfer_ref FROM payouts").fetchone() == ("paid", "PP-42")
    assert "Payout marked as paid." in page(admin, "/admin/finance/payouts?status=paid")

    form(admin, "/admin/finance/freeze", username=seller.user["username"], reason="chargebacks")
    html = page(admin, "/admin/finance/payouts")
    assert 'id="frozen-accounts"' in html and f"@{seller.user['username']}" in html
    assert "frozen" in page(seller, "/billing/earnings")
    form(admin, f"/admin/finance/users/{seller.user['id']}/unfreeze")
    assert 'id="frozen-accounts"' not in page(admin, "/admin/finance/payouts")
