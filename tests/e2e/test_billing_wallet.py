"""The wallet in Chromium: a new person signs up, buys the Starter package through the sandbox
checkout, sees the credits arrive, and redeems a promo code. Screenshots go to var/screenshots."""

from __future__ import annotations

import csv
import io
import re
import uuid

from playwright.sync_api import expect

from tests.admin.helpers import make_admin

PASSWORD = "Sunny-Garden-2026"


def sign_up(page, name: str) -> None:
    email = f"{name}@example.com"
    page.goto("/register")
    page.fill("#f-email", email)
    page.fill("#f-username", name)
    page.fill("#f-display_name", "Wally Wallet")
    page.fill("#f-password", PASSWORD)
    page.check("#f-accept_terms")
    page.click("form[action='/register'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/verify-email"))
    page.goto(f"/dev/mail?to={email}")
    body = page.locator("article.mail-item", has_text="verification code").first.locator("pre.mail").inner_text()
    page.goto("/verify-email")
    page.fill("#f-code", re.search(r"\b(\d{6})\b", body).group(1))
    page.click("form[action='/verify-email'] button[type=submit]")
    expect(page.locator(".flash").first).to_contain_text("verified")


def promo_code(admin, amount: int) -> str:
    batch = admin.post(
        "/api/v1/admin/finance/promo-batches", json={"name": "Welcome back", "amount": amount, "count": 1}
    ).json()
    export = admin.get(f"/api/v1/admin/finance/promo-batches/{batch['id']}/codes.csv").text
    return next(csv.DictReader(io.StringIO(export)))["code"]


def test_buy_credits_and_redeem_a_code(new_page, shot, signup, db):
    page = new_page()
    sign_up(page, f"wally{uuid.uuid4().hex[:6]}")

    page.goto("/billing/wallet")
    expect(page.locator("#balance-value")).to_have_text("0")
    expect(page.locator("#history-empty")).to_contain_text("No credits have moved yet")
    shot(page, "billing-wallet-empty")

    # Buy Starter: the sandbox checkout, then back to the wallet where the balance updates itself
    page.click("#package-starter button[type=submit]")
    expect(page).to_have_url(re.compile(r"/billing/sandbox/checkout/"))
    expect(page.locator("body")).to_contain_text("Starter: 500 credits")
    page.click("button[name=action][value=pay]")
    expect(page).to_have_url(re.compile(r"/billing/wallet\?purchase=success"))
    expect(page.locator("#balance-value")).to_have_text("500", timeout=15_000)

    # Redeem a code an admin made
    code = promo_code(make_admin(signup, db), 250)
    page.fill("#f-code", code.lower())
    page.click(".redeem-form button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("250 credits added")
    expect(page.locator("#balance-value")).to_have_text("750")
    expect(page.locator("#history-rows tr")).to_have_count(2)
    expect(page.locator("#history-rows")).to_contain_text("Promo code: Welcome back")
    expect(page.locator("#history-rows")).to_contain_text("Starter: 500 credits")
    page.wait_for_function("() => document.getElementById('balance-chart').width > 0")
    shot(page, "billing-wallet")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function("() => document.getElementById('balance-chart').getBoundingClientRect().right <= 390")
    shot(page, "billing-wallet-phone")
