"""Buying credits through the sandbox checkout, package administration, refunds and the purchase limit."""

from __future__ import annotations

from tests.billing.credits.helpers import FINANCE, adjust, balance
from tests.billing.support import pay_sandbox, wait_for

PACKAGES = "/api/v1/billing/credits/packages"
PURCHASES = "/api/v1/billing/credits/purchases"


def package(api, slug: str) -> dict:
    return next(p for p in api.get(PACKAGES).json() if p["slug"] == slug)


def buy(api, slug: str = "starter", **kw):
    r = api.post(PURCHASES, json={"package_id": package(api, slug)["id"]}, **kw)
    assert r.status_code == 201, r.text
    return r.json()


def wait_balance(api, expected: int) -> None:
    wait_for(lambda: balance(api) == expected, message=f"balance {expected}")


def entries(db, kind: str) -> list[tuple[str, str, int]]:
    return db.execute(
        "SELECT a.purpose, e.currency, e.amount FROM ledger_entries e JOIN ledger_transactions t "
        "ON t.id = e.transaction_id JOIN ledger_accounts a ON a.id = e.account_id WHERE t.kind = %s "
        "ORDER BY e.currency, a.purpose",
        (kind,),
    ).fetchall()


def test_default_packages(quick_user):
    items = quick_user().get(PACKAGES).json()
    assert [(p["name"], p["price"], p["currency"], p["credits"], p["bonus"], p["total"]) for p in items] == [
        ("Starter", 499, "USD", 500, 0, 500),
        ("Pro", 1999, "USD", 2000, 200, 2200),
        ("Business", 4999, "USD", 5000, 1000, 6000),
    ]


def test_buy_starter_through_the_sandbox_checkout(quick_user, ledger_ok, db):
    user = quick_user()
    started = buy(user, "starter")
    assert started["credits"] == 500 and started["checkout_url"].startswith("/billing/sandbox/checkout/")
    assert balance(user) == 0
    r = pay_sandbox(user, started["checkout_url"])
    assert r.headers["location"] == "/billing/wallet?purchase=success"
    wait_balance(user, 500)
    assert entries(db, "credit_purchase") == [
        ("issuance", "CRD", -500),
        ("wallet", "CRD", 500),
        ("clearing", "USD", -499),
        ("revenue", "USD", 499),
    ]
    history = user.get("/api/v1/billing/credits/wallet/history").json()["items"]
    assert [(h["kind"], h["amount"], h["memo"]) for h in history] == [("credit_purchase", 500, "Starter: 500 credits")]
    ledger_ok()


def test_declined_checkout_grants_nothing(quick_user, db):
    user = quick_user()
    started = buy(user, "pro")
    pay_sandbox(user, started["checkout_url"], "decline")
    wait_for(
        lambda: (
            db.execute("SELECT status FROM payments WHERE id = %s", (started["payment_id"],)).fetchone()[0]
            == "declined"
        ),
        message="declined",
    )
    assert balance(user) == 0 and entries(db, "credit_purchase") == []


def test_admin_changes_packages_and_a_started_purchase_keeps_its_terms(admin, quick_user, db):
    user = quick_user()
    pro = package(user, "pro")
    started = buy(user, "pro")
    r = admin.patch(f"{FINANCE}/credit-packages/{pro['id']}", json={"price": 2499, "bonus": 500})
    assert r.status_code == 200 and r.json()["total"] == 2500 and r.json()["price"] == 2499
    pay_sandbox(user, started["checkout_url"])
    wait_balance(user, 2200)  # what was on offer at checkout

    starter = package(user, "starter")
    assert admin.patch(f"{FINANCE}/credit-packages/{starter['id']}", json={"active": False}).status_code == 200
    assert "starter" not in [p["slug"] for p in user.get(PACKAGES).json()]
    assert "starter" in [p["slug"] for p in admin.get(f"{FINANCE}/credit-packages").json()]
    r = user.post(PURCHASES, json={"package_id": starter["id"]})
    assert r.status_code == 404 and "no longer on sale" in r.json()["detail"]

    r = admin.post(
        f"{FINANCE}/credit-packages",
        json={"slug": "mega", "name": "Mega", "price": 9999, "credits": 11000, "position": 9},
    )
    assert r.status_code == 201, r.text
    assert admin.patch(f"{FINANCE}/credit-packages/{pro['id']}", json={"price": 0}).status_code == 422
    assert user.patch(f"{FINANCE}/credit-packages/{pro['id']}", json={"price": 1}).status_code == 404
    actions = [
        r[0] for r in db.execute("SELECT action FROM audit_log WHERE action LIKE 'credits.package%%' ORDER BY id")
    ]
    assert actions == ["credits.package_updated", "credits.package_updated", "credits.package_created"]


def test_refund_takes_the_credits_back(admin, quick_user, ledger_ok, db):
    user = quick_user()
    started = buy(user, "starter")
    pay_sandbox(user, started["checkout_url"])
    wait_balance(user, 500)
    r = admin.post(f"{FINANCE}/credit-purchases/{started['payment_id']}/refund", json={"reason": "asked nicely"})
    assert r.status_code == 202, r.text
    assert r.json() == {"payment_id": started["payment_id"], "amount": 499, "credits": 500}
    wait_balance(user, 0)
    wait_for(
        lambda: (
            db.execute("SELECT status FROM payments WHERE id = %s", (started["payment_id"],)).fetchone()[0]
            == "refunded"
        ),
        message="refunded",
    )
    assert entries(db, "credit_refund") == [
        ("issuance", "CRD", 500),
        ("wallet", "CRD", -500),
        ("clearing", "USD", 499),
        ("revenue", "USD", -499),
    ]
    assert db.execute("SELECT count(*) FROM ledger_holds WHERE status = 'open'").fetchone()[0] == 0
    ledger_ok()


def test_refund_is_refused_when_the_credits_were_spent(admin, quick_user, ledger_ok, db):
    user = quick_user()
    started = buy(user, "starter")
    pay_sandbox(user, started["checkout_url"])
    wait_balance(user, 500)
    assert adjust(admin, user, -100, "spent elsewhere").status_code == 201
    r = admin.post(f"{FINANCE}/credit-purchases/{started['payment_id']}/refund", json={"reason": "changed mind"})
    assert r.status_code == 409 and r.json()["error"] == "credits_spent"
    # half the money back takes back half the credits, which are still there
    r = admin.post(f"{FINANCE}/credit-purchases/{started['payment_id']}/refund", json={"amount": 249, "reason": "half"})
    assert r.status_code == 202 and r.json()["credits"] == 249
    wait_balance(user, 400 - 249)
    assert db.execute("SELECT status, refunded FROM payments WHERE id = %s", (started["payment_id"],)).fetchone() == (
        "partially_refunded",
        249,
    )
    ledger_ok()


def test_purchases_are_rate_limited_and_need_a_verified_email(quick_user, signup, settings):
    user = quick_user()
    limit = int(settings.rate_purchase.split("/")[0])
    starter = package(user, "starter")["id"]
    statuses = [user.post(PURCHASES, json={"package_id": starter}).status_code for _ in range(limit + 1)]
    assert statuses == [201] * limit + [429]
    unverified = signup(verify=False)
    r = unverified.post(PURCHASES, json={"package_id": starter})
    assert r.status_code == 403 and r.json()["error"] == "email_unverified"
    assert user.post(PURCHASES, json={"package_id": "not-a-uuid"}).status_code == 422
