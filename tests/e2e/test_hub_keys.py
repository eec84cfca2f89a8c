"""API keys in Chromium: create a key, see its secret once (and copy it), use it, revoke it."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect


def test_create_use_and_revoke_an_api_key(new_page, log_in, shot, signup, server):
    alice = signup()
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, alice.user["username"])

    page.goto("/hub/keys")
    expect(page.locator("#keys-empty")).to_be_visible()
    page.click("#new-key")
    dialog = page.locator("#create-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#f-name").fill("Laptop scripts")
    dialog.locator("input[name=scopes][value=mcp]").uncheck()
    dialog.locator("#f-allowed_models").fill("gpt-a, claude-b")
    dialog.locator("#f-credit_limit").fill("0")
    dialog.locator("#key-form button[type=submit]").click()
    expect(dialog.locator("#f-credit_limit-error")).to_be_visible()  # a bad limit keeps the dialog open
    dialog.locator("#f-credit_limit").fill("500")
    dialog.locator("#key-form button[type=submit]").click()

    secret_box = dialog.locator("#new-key-secret")
    expect(secret_box).to_have_value(re.compile(r"^sk-smile-[A-Za-z0-9_-]{43}$"))
    secret = secret_box.input_value()
    shot(page, "hub-key-created")
    dialog.locator("#copy-key").click()
    expect(dialog.locator("#copy-key")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret

    # The secret works, and is never shown again
    r = httpx.get(f"{server.url}/api/v1/hub/keys/current", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200 and r.json()["key"]["name"] == "Laptop scripts"
    dialog.locator("#key-done").click()
    expect(page.locator("#key-rows tr")).to_have_count(1)
    row = page.locator("#key-rows tr").first
    expect(row).to_contain_text("Laptop scripts")
    expect(row).to_contain_text("0 of 500")
    expect(row).to_contain_text("gpt-a, claude-b")
    assert secret not in page.content()
    assert secret[9:] not in page.content()
    shot(page, "hub-keys")

    # Revoke: cancel the confirmation first, then accept it
    page.once("dialog", lambda d: d.dismiss())
    row.locator("button", has_text="Revoke").click()
    expect(row).to_have_attribute("data-status", "active")
    page.once("dialog", lambda d: d.accept())
    row.locator("button", has_text="Revoke").click()
    expect(page.locator(".flash-success")).to_contain_text("Revoked “Laptop scripts”")
    expect(page.locator("#key-rows tr").first).to_have_attribute("data-status", "revoked")
    expect(page.locator("#key-rows tr").first.locator("button")).to_have_count(0)
    r = httpx.get(f"{server.url}/api/v1/hub/keys/current", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "api_key_revoked"
