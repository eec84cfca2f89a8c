"""Two people in two browsers: they follow each other, post, comment, react and chat, and see
each other's actions arrive live (notification badge, chat) without reloading.
Screenshots of the main social pages at desktop and phone width go to var/screenshots."""

from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import expect

from tests.support import STRONG_PASSWORD

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def log_in(page, login: str) -> None:
    # stream.js re-dispatches every stream message as a DOM event; remember the "ready" one.
    page.context.add_init_script("document.addEventListener('smile:ready', () => { window.smileReady = true; })")
    page.goto("/login")
    page.fill("#f-login", login)
    page.fill("#f-password", STRONG_PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator("nav")).to_contain_text("Notifications")


def wait_stream(page) -> None:
    """Wait until the page's WebSocket has caught up and is live (its "ready" message arrived)."""
    page.wait_for_function("() => window.smileReady === true")


def open_until(page, url: str, selector: str, seconds: float = 10) -> None:
    """Open url until selector is on it (the fan-out to followers is a background job)."""
    deadline = time.monotonic() + seconds
    while True:
        page.goto(url)
        if page.locator(selector).count() or time.monotonic() > deadline:
            return
        page.wait_for_timeout(250)


def both_widths(page, shot, name: str) -> None:
    page.set_viewport_size(DESKTOP)
    shot(page, f"social-{name}-desktop")
    page.set_viewport_size(PHONE)
    shot(page, f"social-{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_two_people_follow_post_comment_react_and_chat_live(new_page, shot, signup, db):
    suffix = uuid.uuid4().hex[:6]
    alice, bob = signup(f"alice{suffix}"), signup(f"bob{suffix}")
    a_name, b_name = alice.user["username"], bob.user["username"]
    a, b = new_page(), new_page()
    log_in(a, a_name)
    log_in(b, b_name)

    # Bob waits on his (empty) home page; Alice follows him: his badge lights up without a reload.
    b.goto("/")
    expect(b.locator(".feed-empty")).to_contain_text("Your feed is empty")
    wait_stream(b)
    a.goto(f"/u/{b_name}")
    a.click(f"#follow-{b_name} button")
    expect(a.locator(f"#follow-{b_name}")).to_contain_text("Unfollow")
    expect(b.locator("#notif-badge")).to_have_text("1")

    # Bob follows back from Alice's profile.
    b.goto(f"/u/{a_name}")
    expect(b.locator(f"#follow-{a_name}")).to_contain_text("Follows you")
    b.click(f"#follow-{a_name} button")
    expect(b.locator(f"#follow-{a_name}")).to_contain_text("Unfollow")

    # Alice posts from her home page; the card appears at the top of her feed.
    a.goto("/")
    wait_stream(a)
    expect(a.locator("#notif-badge")).to_have_text("1")  # Bob's follow
    a.fill("#composer-body", f"Hello from Alice #e2e{suffix} with @{b_name}")
    a.click("#composer button[type=submit]")
    card = a.locator("#feed article.post").first
    expect(card).to_contain_text("Hello from Alice")
    expect(card.locator("a.hashtag")).to_have_attribute("href", f"/tags/e2e{suffix}")
    post_id = card.get_attribute("id").removeprefix("post-")

    # Bob sees it in his feed, opens it, comments and reacts.
    open_until(b, "/", f"#post-{post_id}")
    expect(b.locator(f"#post-{post_id}")).to_contain_text("Hello from Alice")
    b.goto(f"/posts/{post_id}")
    b.fill("#comment-body", "Nice post, Alice!")
    b.click("form[hx-post$='/comments'] button[type=submit]")
    expect(b.locator("#comment-list")).to_contain_text("Nice post, Alice!")
    b.click(f"#reactions-{post_id} button[title=love]")
    expect(b.locator(f"#reactions-{post_id} button[title=love]")).to_have_attribute("aria-pressed", "true")
    expect(b.locator(f"#reactions-{post_id} button[title=love]")).to_contain_text("1")
    assert db.execute("SELECT kind FROM reactions WHERE post_id = %s", (post_id,)).fetchone()[0] == "love"

    # Alice, still on her home page, gets both as live notifications (badge without reload).
    expect(a.locator("#notif-badge")).to_have_text("3")
    a.goto("/notifications")
    expect(a.locator("#notif-list")).to_contain_text("comment")
    expect(a.locator("#notif-list")).to_contain_text(b_name)

    # Chat: Alice starts a conversation with Bob; messages arrive live both ways.
    a.goto("/messages")
    a.fill("input[name=members]", f"@{b_name}")
    a.click("form[action='/messages'] button[type=submit]")
    expect(a).to_have_url(re.compile(r"/messages/[0-9a-f-]{36}$"))
    chat_url = a.url
    b.goto(chat_url)
    wait_stream(b)
    wait_stream(a)
    a.fill("#chat-body", "Hi Bob, coffee later?")
    a.click(".chat-form button[type=submit]")
    expect(a.locator("#chat-log")).to_contain_text("Hi Bob, coffee later?")
    expect(b.locator("#chat-log")).to_contain_text("Hi Bob, coffee later?")  # live, no reload
    b.fill("#chat-body", "Sure, 4pm!")
    b.click(".chat-form button[type=submit]")
    expect(a.locator("#chat-log")).to_contain_text("Sure, 4pm!")
    assert db.execute("SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                      "WHERE c.kind = 'direct'").fetchone()[0] == 2

    # Screenshots of every main page, desktop and phone, for a person to look at.
    both_widths(a, shot, "messages")
    a.goto("/")
    expect(a.locator(f"#post-{post_id}")).to_be_visible()
    both_widths(a, shot, "feed")
    a.goto(f"/posts/{post_id}")
    expect(a.locator("#comment-list")).to_contain_text("Nice post, Alice!")
    both_widths(a, shot, "post")
    a.goto(f"/u/{a_name}")
    expect(a.locator(f"#post-{post_id}")).to_be_visible()
    both_widths(a, shot, "profile")
    a.goto("/notifications")
    both_widths(a, shot, "notifications")
    a.goto("/messages")
    expect(a.locator("#conversation-list")).to_contain_text("Sure, 4pm!")
    both_widths(a, shot, "inbox")
    a.goto(f"/search?q={b_name}")
    expect(a.locator("#search-results")).to_contain_text(b_name)
    both_widths(a, shot, "search")
