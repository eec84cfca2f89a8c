"""A buyer pays for a seller's product by card through the sandbox checkout in the browser; the seller
opens Earnings and sees the sale pending in escrow, then available once the buyer confirms.
Screenshots go to var/screenshots."""

from __future__ import annotations

import re

from playwright.sync_api import expect

API = "/api/v1/billing"


def test_seller_sees_earnings_after_a_card_sale(new_page, log_in, shot, signup):
    seller_api, buyer_api = signup(), signup()
    r = seller_api.post(
        f"{API}/listings",
        json={"title": "Sourdough masterclass", "price": 2499, "description": "Two hours, recipes included."},
    )
    assert r.status_code == 201, r.text
    product = r.json()

    buyer = new_page()
    log_in(buyer, buyer_api.user["username"])
    buyer.goto(f"/billing/listings/{product['id']}")
    expect(buyer.locator("#listing-title")).to_have_text("Sourdough masterclass")
    shot(buyer, "billing-listing")
    buyer.click("#buy-card")
    expect(buyer).to_have_url(re.compile(r"/billing/sandbox/checkout/"))
    buyer.click("button[value=pay]")
    expect(buyer).to_have_url(re.compile(r"/billing/purchases\?sale="))
    # the payment's webhook is handled by the job worker a moment later
    for _ in range(40):
        if buyer.locator("#purchases-table button", has_text="Confirm I received it").count():
            break
        buyer.wait_for_timeout(250)
        buyer.reload()
    expect(buyer.locator("#purchases-table")).to_contain_text("in escrow")
    shot(buyer, "billing-purchases")

    seller = new_page()
    log_in(seller, seller_api.user["username"])
    seller.goto("/billing/earnings")
    expect(seller.locator("#earnings-pending")).to_have_text("17.50 USD")  # 24.99 - 30% fee (7.49)
    expect(seller.locator("#earnings-available")).to_have_text("0.00 USD")
    expect(seller.locator("#sales-table")).to_contain_text("Sourdough masterclass")
    expect(seller.locator("#sales-table")).to_contain_text("in escrow")
    seller.wait_for_function("() => window.Chart && Chart.getChart('earnings-chart')")
    assert seller.evaluate("Chart.getChart('earnings-chart').data.datasets[0].data.at(-1)") == 1750
    shot(seller, "billing-earnings")

    buyer.click("#purchases-table button:has-text('Confirm I received it')")
    expect(buyer.locator(".flash-success")).to_contain_text("the seller has been paid")
    seller.reload()
    expect(seller.locator("#earnings-pending")).to_have_text("0.00 USD")
    expect(seller.locator("#earnings-available")).to_have_text("17.50 USD")
    expect(seller.locator("#sales-table")).to_contain_text("released")
