"""Credits never become cash at a rate a user chooses: sellers are paid the platform's value of the credits,
only bought credits can pay people, and credit packages cannot undercut that value."""

from __future__ import annotations

from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import CREDITS, Leg
from tests.billing.credits.helpers import FINANCE
from tests.billing.sales.conftest import API, buy
from tests.billing.support import pay_sandbox, wait_for


def test_the_reported_exploit_pays_the_seller_the_credits_worth_not_the_cash_price(signup, listing, fund, balance):
    seller, buyer = signup(), signup()
    r = seller.post(f"{API}/listings", json={"title": "Gold", "price": 100_000_000, "credit_price": 1})
    assert r.status_code == 422 and r.json()["fields"] == {"credit_price": "at least 2"}
    product = listing(seller, price=100_000_000, credit_price=2)
    fund(buyer.user["id"], 2)
    sale = buy(buyer, product["id"]).json()["sale"]
    assert (sale["price"], sale["fee"], sale["seller_amount"]) == (1, 0, 1)  # 2 credits are worth 1 cent
    assert balance(seller.user["id"], "escrow") == 1
    # raising the cash price later changes nothing for credit buyers either
    assert seller.patch(f"{API}/listings/{product['id']}", json={"credit_price": 1}).status_code == 422


def test_promotional_and_granted_credits_cannot_pay_people(signup, listing, fund, balance, db):
    seller, buyer = signup(), signup()
    product = listing(seller, price=1000, credit_price=1112)
    fund(buyer.user["id"], 5000, bought=False)
    r = buy(buyer, product["id"])
    assert r.status_code == 402 and r.json()["error"] == "credits_not_payable"
    assert "0 of yours can pay other people" in r.json()["detail"]
    assert balance(buyer.user["id"], "wallet", "CRD") == 5000  # nothing moved, no sale left behind
    assert db.execute("SELECT count(*) FROM sales").fetchone()[0] == 0
    fund(buyer.user["id"], 1112)  # bought ones can
    assert buy(buyer, product["id"]).status_code == 201
    assert balance(buyer.user["id"], "wallet", "CRD") == 5000


def test_bonus_credits_count_as_spent_first(signup, listing, fund, ledger_db, db):
    seller, buyer = signup(), signup()
    product = listing(seller, price=1000, credit_price=1112)
    fund(buyer.user["id"], 1112)  # bought

    async def spend_on_ai(database):  # what AI metering posts: the wallet pays the platform
        async with database.session() as session:
            await ledger.post(
                session,
                "ai_usage",
                [
                    Leg(await ledger.wallet(session, buyer.user["id"]), -1112),
                    Leg(await ledger.platform(session, ledger.REVENUE, CREDITS), 1112),
                ],
                key=f"ai:{buyer.user['id']}",
            )

    ledger_db(spend_on_ai)
    fund(buyer.user["id"], 1112, bought=False)  # a promo arrives after the bought credits were used up
    r = buy(buyer, product["id"])
    assert r.status_code == 402 and r.json()["error"] == "credits_not_payable"


def test_a_short_wallet_is_still_plain_insufficient_funds(signup, listing, fund):
    seller, buyer = signup(), signup()
    product = listing(seller, credit_price=2000)
    fund(buyer.user["id"], 1999)
    r = buy(buyer, product["id"])
    assert r.status_code == 402 and r.json()["error"] == "insufficient_funds"


def test_a_package_with_bonus_makes_only_its_paid_credits_payable_and_a_refund_restores_them(
    signup, listing, admin, db
):
    seller, buyer = signup(), signup()
    packages = buyer.get("/api/v1/billing/credits/packages").json()
    pro = next(p for p in packages if p["slug"] == "pro")  # 2,000 + 200 bonus
    r = buyer.post("/api/v1/billing/credits/purchases", json={"package_id": pro["id"]})
    pay_sandbox(buyer, r.json()["checkout_url"])

    def payable():
        row = db.execute("SELECT payable FROM credit_wallets WHERE user_id = %s", (buyer.user["id"],)).fetchone()
        return (row or [None])[0]

    wait_for(lambda: payable() == 2000, message="paid credits payable")
    too_much = listing(seller, price=1, credit_price=2001)
    assert buy(buyer, too_much["id"]).json()["error"] == "credits_not_payable"  # the bonus cannot pay people
    fits = listing(seller, price=1, credit_price=2000)
    sale = buy(buyer, fits["id"]).json()["sale"]
    assert seller.post(f"{API}/sales/{sale['id']}/refund", json={"reason": "sorry"}).status_code == 200
    assert payable() == 2000


def test_a_credit_package_cannot_sell_credits_below_what_sellers_are_paid(admin):
    r = admin.post(
        f"{FINANCE}/credit-packages", json={"slug": "cheap", "name": "Cheap", "price": 899, "credits": 1000, "bonus": 0}
    )
    assert r.status_code == 422 and r.json()["fields"] == {"price": "at least 900"}
    r = admin.post(
        f"{FINANCE}/credit-packages",
        json={"slug": "fair", "name": "Fair", "price": 900, "credits": 1000, "bonus": 5000},
    )  # bonus is not payable
    assert r.status_code == 201, r.text
    r = admin.patch(f"{FINANCE}/credit-packages/{r.json()['id']}", json={"credits": 2000})
    assert r.status_code == 422
