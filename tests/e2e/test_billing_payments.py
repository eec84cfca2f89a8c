"""The sandbox checkout in a browser: the buyer declines once, then pays; the history page shows it."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from smile.billing.payments import service
from smile.kit import runtime
from tests.billing.payments import purpose
from tests.billing.support import wait_for


def test_sandbox_checkout_decline_then_pay(new_page, log_in, shot, signup, server, db):
    buyer = signup()

    async def start():
        async with runtime.current().db.session() as session:
            return await service.start_checkout(
                session,
                uuid.UUID(buyer.user["id"]),
                purpose=purpose.PURPOSE,
                reference_id="widget",
                amount=1999,
                currency="USD",
                description="A browser widget",
                key=f"e2e:{uuid.uuid4()}",
                success_url="/billing/payments",
                cancel_url="/billing/payments",
            )

    payment = server.call(start())

    page = new_page()
    log_in(page, buyer.user["username"])
    page.goto(payment.checkout_url)
    expect(page.locator("h1")).to_contain_text("A browser widget")
    expect(page.get_by_role("button", name="Pay 19.99 USD")).to_be_visible()
    shot(page, "billing-sandbox-checkout")
    page.get_by_role("button", name="Decline").click()
    expect(page.locator(".flash")).to_contain_text("declined")
    status = "SELECT status FROM payments WHERE id = %s"
    wait_for(lambda: db.execute(status, (payment.id,)).fetchone()[0] == "declined", message="declined")

    page.goto(payment.checkout_url)
    expect(page.locator(".flash-error")).to_contain_text("declined")
    page.get_by_role("button", name="Pay 19.99 USD").click()
    expect(page).to_have_url(f"{server.url}/billing/payments")
    wait_for(lambda: db.execute(status, (payment.id,)).fetchone()[0] == "paid", message="paid")
    page.reload()
    expect(page.locator("tbody tr").first).to_contain_text("paid")
    shot(page, "billing-payments-history")
