"""The Content-Security-Policy in Chromium: the main pages load and work (Alpine, htmx, Chart.js, the
stream) with no inline script and no eval, and the browser reports no violation on any of them.

Violations are caught twice: a `securitypolicyviolation` listener on every page, checked after each
visit, and the console ("Refused to ...") checked by the new_page fixture for every browser test."""

from __future__ import annotations

import io
import re
import uuid

from playwright.sync_api import expect

from tests.admin.helpers import make_admin
from tests.e2e.conftest import csp_problem
from tests.e2e.test_social import wait_stream

WATCH = """
window.smileViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.smileViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


def watched(new_page):
    page = new_page()
    page.context.add_init_script(WATCH)
    return page


def visit(page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status < 400, (path, response and response.status)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)  # deferred scripts, Alpine's start, htmx's load triggers
    assert page.evaluate("window.smileViolations") == [], path


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


def test_the_policy_blocks_inline_script_and_the_listener_sees_it(chromium, server):
    """The check below can fail: an inline script put into a page is refused and reported."""
    context = chromium.new_context(base_url=server.url)
    try:
        page = context.new_page()
        messages = []
        page.on("console", lambda msg: messages.append(msg.text))
        page.add_init_script(WATCH)
        page.goto("/login")
        page.evaluate("""() => { const s = document.createElement("script");
                                 s.textContent = "window.inlineRan = true"; document.body.append(s); }""")
        page.wait_for_function("() => window.smileViolations.length > 0")
        assert page.evaluate("window.inlineRan") is None
        assert page.evaluate("window.smileViolations")[0].startswith("script-src")
        page.evaluate("""() => { const b = document.createElement("button");
                                 b.setAttribute("onclick", "window.handlerRan = true");
                                 document.body.append(b); b.click(); }""")
        assert page.evaluate("window.handlerRan") is None
        assert any(csp_problem(m) for m in messages)
    finally:
        context.close()


def test_main_pages_work_under_the_policy(new_page, log_in, signup, db, shot):
    suffix = uuid.uuid4().hex[:6]
    alice, bob = signup(f"alice{suffix}"), signup(f"bob{suffix}")
    a_name, b_name = alice.user["username"], bob.user["username"]
    post = bob.post("/api/v1/posts", json={"body": f"Hello #csp{suffix}"}).json()
    bob.post(f"/api/v1/posts/{post['id']}/comments", json={"body": "first comment"})
    conv = bob.post("/api/v1/conversations", json={"member_usernames": [a_name]}).json()["id"]

    # Signed out
    page = watched(new_page)
    for path in ("/login", "/register", "/password-reset", "/api/docs"):
        visit(page, path)

    page = watched(new_page)
    log_in(page, a_name)
    for path in (
        "/",
        "/explore",
        f"/u/{b_name}",
        f"/tags/csp{suffix}",
        "/search?q=hello",
        "/notifications",
        "/notifications/settings",
        "/messages",
        "/settings/profile",
        "/settings/account",
        "/settings/privacy",
        "/settings/sessions",
        "/settings/blocks",
        "/billing/wallet",
        "/billing/payments",
        "/billing/purchases",
        "/billing/earnings",
        "/hub/keys",
        "/hub/usage",
        "/hub/playground",
    ):
        visit(page, path)

    # The theme toggle (smile.js)
    before = page.evaluate("document.documentElement.dataset.theme || ''")
    page.click(".theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") not in ("", before)

    # The composer (Alpine CSP build): counter, poll editor, posting resets it
    visit(page, "/")
    wait_stream(page)
    page.fill("#composer-body", "hello")
    expect(page.locator("#composer .hint")).to_have_text("4995 characters left")
    page.click("#composer button:has-text('Poll')")
    expect(page.locator("#composer input[name=poll_option]")).to_have_count(2)
    page.click("#composer button:has-text('Add option')")
    expect(page.locator("#composer input[name=poll_option]")).to_have_count(3)
    page.click("#composer button:has-text('Poll')")
    page.fill("#composer-body", f"Posted under the policy #csp{suffix}")
    page.click("#composer button[type=submit]")
    expect(page.locator("#feed article.post").first).to_contain_text("Posted under the policy")
    expect(page.locator("#composer-body")).to_have_value("")

    # A post: comment form resets (data-reset-on-success), a reply form opens (Alpine), delete asks first
    visit(page, f"/posts/{post['id']}")
    page.fill("#comment-body", "a reply under CSP")
    page.click("form[hx-post$='/comments'] button[type=submit]")
    expect(page.locator("#comment-list")).to_contain_text("a reply under CSP")
    expect(page.locator("#comment-body")).to_have_value("")
    page.locator(".comment-actions button:has-text('Reply')").first.click()
    expect(page.locator(".comment-actions form").first).to_be_visible()

    # The avatar preview (Alpine component) shows a blob: image
    visit(page, "/settings/profile")
    page.set_input_files("input[name=file]", files=[{"name": "me.png", "mimeType": "image/png", "buffer": png()}])
    expect(page.locator("img[alt='Preview of the new picture']")).to_have_attribute("src", re.compile("^blob:"))

    # Chat: Enter sends (Alpine method), the message arrives over the WebSocket
    visit(page, f"/messages/{conv}")
    wait_stream(page)
    page.fill("#chat-body", "sent with Enter")
    page.press("#chat-body", "Enter")
    expect(page.locator("#chat-log")).to_contain_text("sent with Enter")
    bob.post(f"/api/v1/conversations/{conv}/messages", json={"body": "live over the stream"})
    expect(page.locator("#chat-log")).to_contain_text("live over the stream")
    shot(page, "csp-chat")

    # API keys: the dialog opens and closes (data-show-modal, data-close-dialog)
    visit(page, "/hub/keys")
    page.click("#new-key")
    expect(page.locator("#create-dialog")).to_be_visible()
    page.click("#create-dialog button:has-text('Cancel')")
    expect(page.locator("#create-dialog")).to_be_hidden()

    # A chart (Chart.js from charts.js)
    visit(page, "/hub/usage")
    assert page.evaluate("() => Boolean(window.Chart && Chart.getChart(document.getElementById('requests-chart')))")
    shot(page, "csp-usage")

    # Admin pages, as an admin whose session passed two-factor
    admin = make_admin(signup, db)
    page = watched(new_page)
    page.context.set_extra_http_headers({"Authorization": f"Bearer {admin.access}"})
    for path in (
        "/admin/users",
        f"/admin/users/{alice.user['id']}",
        "/admin/audit",
        "/admin/moderation",
        "/admin/ai/models",
        "/admin/finance",
        "/admin/finance/journal",
        "/admin/finance/promo-codes",
        "/admin/finance/adjust",
    ):
        visit(page, path)
    visit(page, "/admin/finance/promo-codes")  # an inline Alpine component with assignments
    expect(page.locator("input[name=max_uses]")).to_be_hidden()
    page.check("input[name=kind][value=multi]")
    expect(page.locator("input[name=max_uses]")).to_be_visible()
    visit(page, "/admin/ai/models")
    page.click("a[data-open-details=add-model]")
    expect(page.locator("#add-model")).to_have_attribute("open", "")
    assert page.evaluate("() => window.financeCharts === undefined")  # charts.js draws only where its data is
    visit(page, "/admin/finance")
    page.wait_for_function("() => window.financeCharts && window.financeCharts.length === 2")
