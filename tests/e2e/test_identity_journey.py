"""A person's whole identity journey in Chromium: sign up, verify by the emailed code,
log out, turn on two-factor authentication, log in with it, reset a forgotten password."""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import urlsplit

import pyotp
from playwright.sync_api import expect

PASSWORD = "Sunny-Garden-2026"
NEW_PASSWORD = "Quiet-River-7781"


def read_mail(page, to: str, subject: str) -> str:
    """Open the dev mailbox in the browser and return the newest matching message body."""
    page.goto(f"/dev/mail?to={to}")
    item = page.locator("article.mail-item", has_text=subject).first
    expect(item).to_be_visible()
    return item.locator("pre.mail").inner_text()


def test_register_verify_mfa_login_and_reset(new_page, log_in, shot, db):
    name = f"ada{uuid.uuid4().hex[:6]}"
    email = f"{name}@example.com"
    page = new_page()

    # Sign up
    page.goto("/register")
    shot(page, "identity-register")
    page.fill("#f-email", email)
    page.fill("#f-username", name)
    page.fill("#f-display_name", "Ada Lovelace")
    page.fill("#f-password", "short")
    page.check("#f-accept_terms")
    page.click("form[action='/register'] button[type=submit]")
    expect(page.locator("#f-password-error")).to_contain_text("at least 10 characters")
    page.fill("#f-password", PASSWORD)
    page.click("form[action='/register'] button[type=submit]")

    # Verify with the code from the dev mailbox
    expect(page).to_have_url(re.compile(r"/verify-email"))
    code = re.search(r"\b(\d{6})\b", read_mail(page, email, "verification code")).group(1)
    page.goto("/verify-email")
    page.fill("#f-code", code)
    page.click("form[action='/verify-email'] button[type=submit]")
    expect(page.locator(".flash").first).to_contain_text("verified")
    assert db.execute("SELECT email_verified_at IS NOT NULL FROM users WHERE username = %s", (name,)).fetchone()[0]

    # Log out, then in again with the password
    page.click("nav form[action='/logout'] button")
    expect(page.locator("nav")).to_contain_text("Log in")
    log_in(page, name, PASSWORD)
    expect(page.locator("h1")).to_contain_text("Welcome, Ada Lovelace")

    # Turn on two-factor authentication
    page.goto("/settings/security")
    page.click("form[action='/settings/security/mfa/setup'] button")
    expect(page.locator(".mfa-qr svg")).to_be_visible()
    shot(page, "identity-mfa-setup")
    totp = pyotp.TOTP(page.locator(".mfa-secret").inner_text().replace(" ", ""))
    page.fill("form[action='/settings/security/mfa/enable'] input[name=code]", totp.now())
    page.fill("form[action='/settings/security/mfa/enable'] input[name=password]", PASSWORD)
    page.click("form[action='/settings/security/mfa/enable'] button")
    expect(page.locator("h1")).to_contain_text("Two-factor authentication is on")
    recovery = page.locator("ul.codes code").all_inner_texts()
    assert len(recovery) == 10

    # Log out; logging in now asks for the code (the next 30 s step: codes are not reusable)
    page.goto("/")
    page.click("nav form[action='/logout'] button")
    log_in(page, email, PASSWORD, signed_in=False)
    expect(page).to_have_url(re.compile(r"/login/mfa"))
    page.fill("#f-code", totp.at(time.time() + 30))
    page.click("form[action='/login/mfa'] button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Welcome, Ada Lovelace")

    # Forgot the password: reset it through the emailed link
    page.click("nav form[action='/logout'] button")
    page.goto("/password-reset")
    page.fill("#f-email", email)
    page.click("form[action='/password-reset'] button[type=submit]")
    link = re.search(r"https?://\S+", read_mail(page, email, "Reset your password")).group(0)
    parts = urlsplit(link)  # the link names SMILE_BASE_URL; open its path on the test server
    page.goto(f"{parts.path}?{parts.query}")
    page.fill("#f-password", NEW_PASSWORD)
    page.click("form[action='/password-reset/confirm'] button[type=submit]")

    # The old password no longer works; the new one does, with a single-use recovery code
    log_in(page, name, PASSWORD, signed_in=False)
    expect(page.locator(".field-error, .flash-error").first).to_be_visible()
    log_in(page, name, NEW_PASSWORD, signed_in=False)
    expect(page).to_have_url(re.compile(r"/login/mfa"))
    page.fill("#f-code", recovery[0])
    page.click("form[action='/login/mfa'] button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Welcome, Ada Lovelace")
    shot(page, "identity-home")


def test_phone_width_layout(new_page, shot):
    page = new_page(width=390, height=844)
    page.goto("/login")
    expect(page.locator("#f-login")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways at phone width ({width}px)"
    shot(page, "identity-login-phone")
