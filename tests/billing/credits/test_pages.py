"""The wallet page and the admin promo-code and adjustment pages over real HTTP."""

from __future__ import annotations

import csv
import io
import json
import re

from tests.billing.credits.helpers import FINANCE, adjust, balance
from tests.billing.support import pay_sandbox, wait_for

HTML = {"accept": "text/html"}


def test_wallet_page_shows_balance_packages_and_an_empty_history(quick_user):
    user = quick_user()
    page = user.get("/billing/wallet", headers=HTML)
    assert page.status_code == 200
    assert re.search(r'id="balance-value">0<', page.text)
    for name, price in (("Starter", "4.99 USD"), ("Pro", "19.99 USD"), ("Business", "49.99 USD")):
        assert f"Buy {name}" in page.text and price in page.text
    assert "No credits have moved yet" in page.text and "/api/v1/billing/credits/wallet/history.csv" in page.text
    series = json.loads(re.search(r'id="balance-series">(.*?)</script>', page.text, re.S).group(1))
    assert len(series) == 30 and series[-1][1] == 0


def test_buy_and_redeem_from_the_wallet_page(admin, quick_user):
    user = quick_user()
    page = user.get("/billing/wallet", headers=HTML)
    package_id = re.search(r'id="package-starter">.*?name="package_id" value="([^"]+)"', page.text, re.S).group(1)
    r = user.post("/billing/wallet/buy", data={"package_id": package_id}, headers=HTML)
    assert r.status_code == 303 and r.headers["location"].startswith("/billing/sandbox/checkout/")
    pay_sandbox(user, r.headers["location"])
    wait_for(lambda: balance(user) == 500, message="credits bought")

    batch = admin.post(f"{FINANCE}/promo-batches", json={"name": "Page", "amount": 40, "count": 1}).json()
    code = next(csv.DictReader(io.StringIO(admin.get(f"{FINANCE}/promo-batches/{batch['id']}/codes.csv").text)))["code"]
    r = user.post("/billing/wallet/redeem", data={"code": code}, headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/billing/wallet"
    page = user.get("/billing/wallet", headers=HTML)
    assert "40 credits added" in page.text and 'id="balance-value">540<' in page.text
    assert "Promo code: Page" in page.text and "Starter: 500 credits" in page.text
    user.post("/billing/wallet/redeem", data={"code": "WRONG-CODE"}, headers=HTML)
    assert "No such promo code" in user.get("/billing/wallet", headers=HTML).text
    filtered = user.get("/billing/wallet", params={"kind": "promo_redemption"}, headers=HTML).text
    assert "Promo code: Page" in filtered and "Starter: 500 credits" not in filtered


def test_admin_pages(admin, quick_user, db):
    user = quick_user()
    assert user.get("/admin/finance/promo-codes", headers=HTML).status_code == 404
    page = admin.get("/admin/finance/promo-codes", headers=HTML)
    assert page.status_code == 200 and "No promo codes yet" in page.text
    r = admin.post(
        "/admin/finance/promo-codes",
        headers=HTML,
        data={
            "name": "Spring",
            "amount": "25",
            "count": "3",
            "kind": "multi",
            "max_uses": "4",
            "once_per_user": "on",
            "expires_at": "2099-01-01T12:00",
        },
    )
    assert r.status_code == 303
    page = admin.get("/admin/finance/promo-codes", headers=HTML)
    assert "Made 3 codes" in page.text and "Spring" in page.text and "2099-01-01 12:00" in page.text
    assert db.execute("SELECT max_uses, once_per_user FROM promo_batches").fetchone() == (4, True)
    admin.post("/admin/finance/promo-codes", headers=HTML, data={"name": "", "amount": "1", "count": "1"})
    assert "Check the form" in admin.get("/admin/finance/promo-codes", headers=HTML).text

    assert admin.get("/admin/finance/adjust", headers=HTML).status_code == 200
    form = {"user": user.user["username"], "amount": "70", "reason": "support ticket 42", "key": "k1"}
    assert admin.post("/admin/finance/adjust", headers=HTML, data=form).status_code == 303
    admin.post("/admin/finance/adjust", headers=HTML, data=form)  # a double submit
    assert "Added 70 credits" in admin.get("/admin/finance/adjust", headers=HTML).text
    assert balance(user) == 70
    admin.post("/admin/finance/adjust", headers=HTML, data={**form, "key": "k2", "amount": "-500"})
    assert "only 70 credits" in admin.get("/admin/finance/adjust", headers=HTML).text
    assert adjust(admin, user, -70).status_code == 201
