"""Opening the notifications page marks them seen: the nav badge is right afterwards, in every tab."""

from __future__ import annotations

import re

from tests.social.stream_client import Stream


def _follow(api, username):
    r = api.post(f"/api/v1/users/{username}/follow")
    assert r.status_code == 200, r.text


def test_opening_the_page_clears_the_badge_and_keeps_new_ones_highlighted(browser, signup):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    web = browser(alice)
    _follow(bob, "alice")
    _follow(carol, "alice")
    assert ">2<" in web.get("/notifications/badge").text
    page = web.get("/notifications")
    assert page.status_code == 200
    assert len(re.findall(r'class="notif-item unread"', page.text)) == 2  # new on this visit
    badge = re.search(r'<span id="notif-badge"[^>]*>', page.text).group(0)
    assert "hidden" in badge and "hx-get" not in badge  # the nav badge already says 0
    assert alice.get("/api/v1/notifications/unread-count").json() == {"unread": 0}
    assert "hidden" in web.get("/notifications/badge").text
    assert "notif-item unread" not in web.get("/notifications").text  # seen now


def test_other_tabs_hear_the_new_unread_count(server, browser, signup):
    alice, bob = signup("alice"), signup("bob")
    web = browser(alice)
    _follow(bob, "alice")
    with Stream(server.url, alice.access) as stream:
        stream.ready()
        assert web.get("/notifications").status_code == 200
        assert stream.next("unread")["payload"] == {"unread": 0}
        web.get("/notifications")  # nothing left to mark: no event
        stream.nothing("unread", wait=0.5)
        _follow(signup("carol"), "alice")
        assert stream.next("notification")["payload"]["unread"] == 1
        note_id = alice.get("/api/v1/notifications").json()["items"][0]["id"]
        assert alice.post("/api/v1/notifications/read", json={"ids": [note_id]}).json() == {"unread": 0}
        assert stream.next("unread")["payload"] == {"unread": 0}


def test_reading_a_chat_updates_the_count_live(server, signup):
    alice, bob = signup("alice"), signup("bob")
    conv = bob.post("/api/v1/conversations", json={"member_usernames": ["alice"]}).json()["id"]
    msg = bob.post(f"/api/v1/conversations/{conv}/messages", json={"body": "hi"}).json()
    assert alice.get("/api/v1/notifications/unread-count").json() == {"unread": 1}
    with Stream(server.url, alice.access) as stream:
        stream.ready()
        assert alice.post(f"/api/v1/conversations/{conv}/read", json={"message_id": msg["id"]}).status_code == 204
        assert stream.next("unread")["payload"] == {"unread": 0}
