"""The chat page: sending images from the form, and loading older messages page by page."""

from __future__ import annotations

import re

import pytest

from smile.kit.ids import new_id
from tests.social.test_media import png, upload

HX = {"HX-Request": "true"}


@pytest.fixture
def chat(browser, signup):
    """Alice's signed-in browser client and her 1:1 conversation id with Bob."""
    alice, bob = signup("alice"), signup("bob")
    r = alice.post("/api/v1/conversations", json={"member_usernames": ["bob"]})
    assert r.status_code == 201, r.text
    return browser(alice, csrf=True), r.json()["id"], alice, bob


def _message_count(db, conversation_id) -> int:
    return db.execute("SELECT count(*) FROM messages WHERE conversation_id = %s", (conversation_id,)).fetchone()[0]


def test_chat_form_sends_images(chat, db):
    web, conv, alice, bob = chat
    page = web.get(f"/messages/{conv}").text
    assert 'type="file"' in page and 'x-data="smileChatForm()"' in page and "/static/js/chat.js" in page
    first, second = (upload(alice, png(), name=f"p{i}.png", ctype="image/png").json()["id"] for i in range(2))
    r = web.post(
        f"/messages/{conv}/send", headers=HX, data={"body": "", "media_id": [first, second, ""]}
    )  # an image-only message
    assert r.status_code == 200 and r.text.lstrip().startswith('<li id="msg-'), r.text
    assert f"/media/post/{first}" in r.text and f"/media/post/{second}" in r.text
    [item] = bob.get(f"/api/v1/conversations/{conv}/messages").json()["items"]
    assert [m["id"] for m in item["media"]] == [first, second]
    assert f"/media/post/{first}" in web.get(f"/messages/{conv}").text


def test_refused_attachment_sends_nothing(chat, db, signup):
    web, conv, alice, bob = chat
    used = upload(alice, png(), ctype="image/png").json()["id"]
    assert web.post(f"/messages/{conv}/send", headers=HX, data={"media_id": used}).status_code == 200
    before = _message_count(db, conv)
    # already attached: the error goes under the form and no message is stored
    r = web.post(f"/messages/{conv}/send", headers=HX, data={"body": "see this", "media_id": used})
    assert r.status_code == 200 and r.headers["hx-retarget"] == "#chat-error"
    assert "already used" in r.text and "msg-" not in r.text
    # someone else's upload, and a malformed id
    theirs = upload(bob, png(), ctype="image/png").json()["id"]
    r = web.post(f"/messages/{conv}/send", headers=HX, data={"body": "x", "media_id": theirs})
    assert r.headers["hx-retarget"] == "#chat-error" and "not yours" in r.text
    r = web.post(f"/messages/{conv}/send", headers=HX, data={"body": "x", "media_id": "nonsense"})
    assert r.status_code == 200 and r.headers["hx-retarget"] == "#chat-error" and "Attach up to 4" in r.text
    r = web.post(f"/messages/{conv}/send", data={"body": "x", "media_id": "nonsense"})  # no HTMX: the error page
    assert r.status_code == 422 and "Attach up to 4" in r.text and "<html" in r.text
    assert _message_count(db, conv) == before
    assert bob.get(f"/api/v1/conversations/{conv}/messages").json()["items"][0]["media"][0]["id"] == used


def _insert_messages(db, conv, sender_id, count) -> list[str]:
    ids = []
    for i in range(count):
        mid = new_id()
        db.execute(
            "INSERT INTO messages (id, conversation_id, sender_id, body, body_html, status, created_at) "
            "VALUES (%s, %s, %s, %s, %s, 'visible', now())",
            (mid, conv, sender_id, f"m{i}", f"m{i}"),
        )
        ids.append(str(mid))
    return ids


def test_older_messages_load_page_by_page(chat, db, browser, signup):
    web, conv, alice, _ = chat
    ids = _insert_messages(db, conv, alice.user["id"], 120)
    page = web.get(f"/messages/{conv}").text
    shown = re.findall(r'id="msg-([0-9a-f-]{36})"', page)
    assert shown == ids[-50:]  # the newest page, oldest first
    url = re.search(r'data-older-url="([^"]+)"', page).group(1).replace("&amp;", "&")
    r = web.get(url, headers=HX)
    assert r.status_code == 200
    assert re.findall(r'id="msg-([0-9a-f-]{36})"', r.text) == ids[20:70]
    url = re.search(r'data-older-url="([^"]+)"', r.text).group(1).replace("&amp;", "&")
    r = web.get(url, headers=HX)
    assert re.findall(r'id="msg-([0-9a-f-]{36})"', r.text) == ids[:20]
    assert "data-older-url" not in r.text  # the first message reached: no more control
    # bad cursor, no cursor, and a non-member
    assert web.get(f"/messages/{conv}/older", params={"cursor": "!!"}).status_code == 422
    assert web.get(f"/messages/{conv}/older").status_code == 422
    eve = signup("eve")
    assert browser(eve).get(url).status_code == 404


def test_short_conversation_has_no_older_control(chat):
    web, conv, alice, _ = chat
    assert alice.post(f"/api/v1/conversations/{conv}/messages", json={"body": "hi"}).status_code == 201
    page = web.get(f"/messages/{conv}").text
    assert "msg-" in page and "data-older-url" not in page and "Older messages are available" not in page


def test_seen_shows_only_under_my_own_last_message(chat, browser):
    web, conv, alice, bob = chat
    msg = alice.post(f"/api/v1/conversations/{conv}/messages", json={"body": "did you see?"}).json()
    assert bob.post(f"/api/v1/conversations/{conv}/read", json={"message_id": msg["id"]}).status_code == 204
    seen = re.compile(r'<p id="seen"[^>]*>([^<]*)</p>')
    assert seen.search(web.get(f"/messages/{conv}").text).group(1).strip() == "Seen by Bob"
    assert seen.search(browser(bob).get(f"/messages/{conv}").text).group(1).strip() == ""  # alice's own read is no news
