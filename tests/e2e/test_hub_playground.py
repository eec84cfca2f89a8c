"""The AI hub in Chromium: a new person gets credits, creates an API key, chats in the playground with the
offline model (the reply streams, the counter runs, the balance drops), then sees the usage and the charge."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.admin.helpers import make_admin
from tests.e2e.test_billing_wallet import promo_code, sign_up


def balance(page) -> int:
    return int(page.locator("#pg-balance").get_attribute("data-value"))


def test_key_playground_usage_and_balance(new_page, shot, signup, db):
    admin = make_admin(signup, db)
    assert admin.get("/api/v1/admin/ai/models").status_code == 200  # seeds the catalog on a fresh database
    # 1 credit per token on the offline model, so every reply visibly costs something
    r = admin.patch(
        "/api/v1/admin/ai/models/offline", json={"input_credits_per_m": 1_000_000, "output_credits_per_m": 1_000_000}
    )
    assert r.status_code == 200, r.text
    page = new_page()
    name = f"pia{uuid.uuid4().hex[:6]}"
    sign_up(page, name)

    # Credits: redeem a promo code an admin made
    page.goto("/billing/wallet")
    page.fill("#f-code", promo_code(admin, 300))
    page.click(".redeem-form button[type=submit]")
    expect(page.locator("#balance-value")).to_have_text("300")

    # An API key
    page.goto("/hub/keys")
    page.click("#new-key")
    page.locator("#f-name").fill("Playground notebook")
    page.locator("#key-form button[type=submit]").click()
    expect(page.locator("#new-key-secret")).to_have_value(re.compile(r"^sk-smile-"))
    page.locator("#key-done").click()
    expect(page.locator("#key-rows tr")).to_have_count(1)

    # The playground: offline model, a system prompt, a streamed reply
    page.goto("/hub/playground")
    expect(page.locator("#pg-model")).to_have_value("offline")
    expect(page.locator("#pg-prices")).to_contain_text("1,000,000 in")
    assert balance(page) == 300
    page.fill("#pg-system", "You are a friendly guide to smile.")
    page.fill("#pg-input", "How do I get started with the hub?")
    page.keyboard.press("Enter")
    reply = page.locator(".pg-turn.assistant").last
    expect(page.locator("#pg-status")).to_have_text("done")
    expect(reply.locator(".text")).to_contain_text("[offline]")
    expect(reply.locator(".text")).to_contain_text("How do I get started with the hub?")
    expect(reply.locator(".badge.offline")).to_be_visible()
    expect(page.locator("#pg-credits-note")).to_have_text("exact, charged")
    expect(page.locator("#pg-send")).to_be_visible()
    row = db.execute(
        "SELECT credits, input_tokens, output_tokens, status FROM ai_usage WHERE user_id = "
        "(SELECT id FROM users WHERE username = %s)",
        (name,),
    ).fetchall()
    assert len(row) == 1 and row[0][3] == "ok"
    credits, tokens_in, tokens_out = row[0][:3]
    assert credits == tokens_in + tokens_out  # 1 credit per token
    expect(page.locator("#pg-credits")).to_have_text(f"{credits:,}")
    expect(page.locator("#pg-out")).to_have_text(f"{tokens_out:,}")
    expect(page.locator("#pg-balance")).to_have_text(f"{300 - credits:,}")
    expect(reply.locator(".cost")).to_contain_text(f"{credits:,} credits")
    shot(page, "hub-playground")

    # A second turn carries the transcript, costs more input, and lowers the balance again
    page.fill("#pg-input", "Thanks! And the wallet?")
    page.click("#pg-send")
    expect(page.locator(".pg-turn.assistant .cost")).to_have_count(2)
    total = db.execute("SELECT sum(credits) FROM ai_usage WHERE status = 'ok'").fetchone()[0]
    assert total > credits
    expect(page.locator("#pg-balance")).to_have_text(f"{300 - total:,}")

    # Too expensive: a refusal that points to the wallet, and no charge
    page.fill("#pg-max", "5000")
    page.fill("#pg-input", "One more, please")
    page.click("#pg-send")
    expect(page.locator("#pg-error")).to_contain_text("may cost up to")
    expect(page.locator("#pg-error a[href='/billing/wallet']")).to_be_visible()
    expect(page.locator("#pg-status")).to_have_text("not enough credits")
    expect(page.locator("#pg-input")).to_have_value("One more, please")  # given back to retry
    expect(page.locator(".pg-turn.user")).to_have_count(2)
    shot(page, "hub-playground-402")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "hub-playground-phone")

    # Usage and balance: the usage page when it exists, always the wallet history
    page.set_viewport_size({"width": 1280, "height": 900})
    response = page.goto("/hub/usage")
    if response.ok:
        expect(page.locator("main")).to_contain_text("offline")
        shot(page, "hub-playground-usage")
    assert db.execute("SELECT count(*) FROM ai_usage WHERE status = 'ok' AND stream").fetchone() == (2,)
    page.goto("/billing/wallet")
    expect(page.locator("#balance-value")).to_have_text(f"{300 - total:,}")
    expect(page.locator("#history-rows")).to_contain_text("AI: offline")
    shot(page, "hub-playground-wallet")


def test_admin_edits_a_model_price_on_the_catalog_page(new_page, shot, signup, db):
    admin = make_admin(signup, db)
    page = new_page()
    page.context.set_extra_http_headers({"Authorization": f"Bearer {admin.access}"})  # the MFA-verified session
    page.goto("/admin/ai/models")
    row = page.locator("#models-table tr[data-model=offline]")
    expect(row).to_contain_text("32,768")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("AI models")
    shot(page, "hub-playground-admin-models")
    row.locator("a", has_text="Edit").click()
    page.fill("#f-output_credits_per_m", "-1")
    page.click("#model-form button[type=submit]")
    expect(page.locator("#f-output_credits_per_m-error")).to_be_visible()
    page.fill("#f-output_credits_per_m", "2500")
    page.fill("#f-fallbacks", "")
    page.click("#model-form button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("Saved “offline”")
    expect(row).to_contain_text("2,500")
    assert db.execute("SELECT output_credits_per_m FROM ai_models WHERE id = 'offline'").fetchone() == (2500,)
    shot(page, "hub-playground-admin-saved")
