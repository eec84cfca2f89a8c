"""Subscriptions in Chromium: subscribe to Creator Pro through the sandbox checkout, see it active,
cancel it ("Cancels on <date>"), and keep it again. Screenshots go to var/screenshots."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_subscribe_to_creator_pro_and_cancel(new_page, log_in, shot, signup):
    api = signup()
    page = new_page()
    log_in(page, api.user["username"])

    page.goto("/billing/subscription")
    expect(page.locator("#current-title")).to_have_text("Free")
    expect(page.locator("#plan-creator_pro")).to_contain_text("9.99 USD")
    expect(page.locator("#plan-business")).to_contain_text("Start 14-day free trial")
    shot(page, "billing-subscription-free")

    page.click("#plan-creator_pro button[type=submit]")
    expect(page).to_have_url(re.compile(r"/billing/sandbox/checkout/"))
    expect(page.locator("body")).to_contain_text("Creator Pro subscription")
    page.click("button[name=action][value=pay]")
    # Back on the page, which reloads itself once the payment event has been handled
    expect(page.locator("#current-title")).to_have_text("Creator Pro", timeout=15_000)
    expect(page.locator("#sub-status")).to_have_text("Active")
    expect(page.locator("#next-renewal")).to_contain_text("9.99 USD")
    expect(page.locator("#plan-creator_pro")).to_contain_text("Your plan")
    expect(page.locator("#plan-business")).to_contain_text("Upgrade to Business")
    shot(page, "billing-subscription-active")

    renewal = api.get("/api/v1/billing/subscriptions").json()["items"][0]["current_period_end"]
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel")
    expect(page.locator(".flash-success")).to_contain_text("Your plan cancels on")
    status = page.locator("#sub-status")
    expect(status).to_contain_text("Cancels on")
    year = renewal[:4]
    expect(status).to_contain_text(year)
    expect(page.locator("#resume")).to_be_visible()
    shot(page, "billing-subscription-canceling")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function("() => document.documentElement.scrollWidth <= 390")
    shot(page, "billing-subscription-canceling-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.click("#resume")
    expect(page.locator(".flash-success")).to_contain_text("Your plan renews on")
    expect(page.locator("#sub-status")).to_have_text("Active")
    assert api.get("/api/v1/billing/subscriptions").json()["items"][0]["cancel_at_period_end"] is False
