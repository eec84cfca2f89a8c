"""Two people in two browsers: they follow each other, post, comment, react and chat, and see
each other's actions arrive live (notification badge, chat) without reloading.
Screenshots of the main social pages at desktop and phone width go to var/screenshots."""

from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import expect

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


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


def test_two_people_follow_post_comment_react_and_chat_live(new_page, log_in, shot, signup, db):
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
    assert (
        db.execute(
            "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.kind = 'direct'"
        ).fetchone()[0]
        == 2
    )

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


def test_badge_clears_on_the_notifications_page(new_page, log_in, signup):
    suffix = uuid.uuid4().hex[:6]
    alice, bob, carol = signup(f"alice{suffix}"), signup(f"bob{suffix}"), signup(f"carol{suffix}")
    a = new_page()
    log_in(a, alice.user["username"])
    assert bob.post(f"/api/v1/users/{alice.user['username']}/follow").status_code == 200
    a.goto("/")
    expect(a.locator("#notif-badge")).to_have_text("1")
    a.click("nav a.notif-link")
    expect(a.locator("#notif-list .notif-item.unread")).to_have_count(1)  # new on this visit
    expect(a.locator("#notif-badge")).to_be_hidden()
    wait_stream(a)
    # one arriving while the page is open is shown and marked seen at once: the badge stays clear
    with a.expect_response(lambda r: r.url.endswith("/api/v1/notifications/read")) as marked:
        assert carol.post(f"/api/v1/users/{alice.user['username']}/follow").status_code == 200
    assert marked.value.json() == {"unread": 0}
    expect(a.locator("#notif-list .notif-item")).to_have_count(2)
    expect(a.locator("#notif-badge")).to_be_hidden()
    a.goto("/")
    expect(a.locator("#notif-badge")).to_have_attribute("aria-label", "0 unread notifications")
    expect(a.locator("#notif-badge")).to_be_hidden()


def test_phone_nav_search(new_page, log_in, shot, signup):
    suffix = uuid.uuid4().hex[:6]
    alice, bob = signup(f"alice{suffix}"), signup(f"bob{suffix}")
    a = new_page(**PHONE)
    log_in(a, alice.user["username"])
    a.goto("/")
    search = a.locator("nav input[type=search]")
    expect(search).to_be_visible()
    box = search.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # on screen, not clipped
    assert a.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    shot(a, "social-nav-phone")
    search.fill(bob.user["username"])
    search.press("Enter")
    expect(a).to_have_url(re.compile(r"/search\?q="))
    expect(a.locator("#search-results")).to_contain_text(bob.user["username"])


def test_chat_images_and_older_messages(new_page, log_in, shot, signup, db, tmp_path):
    from PIL import Image

    from smile.kit.ids import new_id

    suffix = uuid.uuid4().hex[:6]
    alice, bob = signup(f"alice{suffix}"), signup(f"bob{suffix}")
    conv = alice.post("/api/v1/conversations", json={"member_usernames": [bob.user["username"]]}).json()["id"]
    for i in range(70):  # older history than one page holds
        db.execute(
            "INSERT INTO messages (id, conversation_id, sender_id, body, body_html, status, created_at) "
            "VALUES (%s, %s, %s, %s, %s, 'visible', now())",
            (new_id(), conv, (alice if i % 3 else bob).user["id"], f"old message {i}", f"old message {i}"),
        )
    a, b = new_page(), new_page()
    log_in(a, alice.user["username"])
    log_in(b, bob.user["username"])
    a.goto(f"/messages/{conv}")
    b.goto(f"/messages/{conv}")
    wait_stream(a)
    wait_stream(b)

    # The chat opens at the newest message; scrolling to the top loads the older ones.
    expect(a.locator("#chat-log")).to_contain_text("old message 69")
    expect(a.locator("#chat-log li.chat-message").last).to_be_in_viewport()
    expect(a.locator("#chat-log")).not_to_contain_text("old message 0")
    a.locator("#chat-log").evaluate("log => { log.scrollTop = 0; }")
    expect(a.locator("#chat-log")).to_contain_text("old message 0")
    expect(a.locator("#chat-log li.chat-message")).to_have_count(70)
    expect(a.locator("#chat-older")).to_have_count(0)
    ids = a.locator("#chat-log li.chat-message").evaluate_all("items => items.map((li) => li.id)")
    assert ids == sorted(ids) and len(set(ids)) == 70  # oldest first, no duplicates
    expect(a.locator("#" + ids[20])).to_be_in_viewport()  # the place is kept, no jump to the top

    # Alice attaches a picture (preview, then sent with a caption); Bob gets it live.
    picture = tmp_path / "sunset.png"
    Image.new("RGB", (640, 400), (240, 120, 40)).save(picture)
    a.set_input_files("#chat-file", str(picture))
    expect(a.locator(".chat-attachment")).to_have_attribute("data-state", "ready")
    shot(a, "social-chat-attach-desktop")
    a.fill("#chat-body", "Look at this sunset")
    a.click(".chat-form button[type=submit]")
    sent = a.locator("#chat-log li.chat-message").last
    expect(sent).to_contain_text("Look at this sunset")
    expect(sent.locator(".chat-media img")).to_have_count(1)
    expect(a.locator(".chat-attachment")).to_have_count(0)  # the form is cleared
    received = b.locator("#chat-log li.chat-message").last
    expect(received).to_contain_text("Look at this sunset")
    expect(received.locator(".chat-media img")).to_be_visible()
    b.wait_for_function("""() => { const img = document.querySelector("#chat-log > li:last-child .chat-media img");
        return img && img.complete && img.naturalWidth > 0; }""")  # the picture itself loads for Bob
    expect(received).to_be_in_viewport()
    # a picture alone is a message too
    a.set_input_files("#chat-file", str(picture))
    expect(a.locator(".chat-attachment")).to_have_attribute("data-state", "ready")
    a.locator("#chat-body").press("Enter")
    expect(b.locator("#chat-log li.chat-message .chat-media img")).to_have_count(2)
    assert db.execute("SELECT count(*) FROM media WHERE message_id IS NOT NULL").fetchone()[0] == 2

    b.wait_for_function("() => [...document.querySelectorAll('#chat-log img')].every((img) => img.complete)")
    shot(b, "social-chat-desktop")

    # On a phone the chat opens at the newest message too, with the form on screen.
    phone = new_page(**PHONE)
    log_in(phone, bob.user["username"])
    phone.goto(f"/messages/{conv}")
    expect(phone.locator("#chat-log li.chat-message").last.locator(".chat-media img")).to_be_in_viewport()
    expect(phone.locator(".chat-form button[type=submit]")).to_be_in_viewport()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.wait_for_function("""() => { const log = document.getElementById("chat-log");
        return [...log.querySelectorAll("img")].every((i) => i.complete)
            && log.scrollHeight - log.scrollTop - log.clientHeight < 2; }""")  # still at the bottom once loaded
    shot(phone, "social-chat-phone")
