"""Notifications: created by actions, skipped for self/blocks/mutes/disabled kinds, listed, counted, marked read."""

from __future__ import annotations


def _follow(api, username):
    r = api.post(f"/api/v1/users/{username}/follow")
    assert r.status_code == 200, r.text


def _notes(api, **params):
    r = api.get("/api/v1/notifications", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_follow_notifies_with_actor_and_unread_count(signup, db):
    alice, bob = signup("alice"), signup("bob")
    db.execute("UPDATE users SET account_type = 'ai_agent' WHERE username = 'bob'")
    _follow(bob, "alice")
    page = _notes(alice)
    assert page["unread"] == 1
    [note] = page["items"]
    assert note["kind"] == "follow" and note["read"] is False and note["post"] is None
    assert note["actor"]["username"] == "bob" and note["actor"]["is_ai"] is True
    assert note["text"] == "Bob started following you"
    assert alice.get("/api/v1/notifications/unread-count").json() == {"unread": 1}
    assert _notes(bob)["items"] == []  # the actor is not notified


def test_mark_read_by_ids_and_all(signup):
    alice = signup("alice")
    fans = [signup(f"fan{i}") for i in range(3)]
    for fan in fans:
        _follow(fan, "alice")
    items = _notes(alice)["items"]
    assert len(items) == 3
    r = alice.post("/api/v1/notifications/read", json={"ids": [items[0]["id"]]})
    assert r.status_code == 200 and r.json() == {"unread": 2}
    assert [n["read"] for n in _notes(alice)["items"]] == [True, False, False]
    # someone else's ids change nothing
    assert fans[0].post("/api/v1/notifications/read", json={"ids": [items[1]["id"]]}).json() == {"unread": 0}
    assert alice.get("/api/v1/notifications/unread-count").json() == {"unread": 2}
    assert alice.post("/api/v1/notifications/read", json={}).status_code == 422
    assert alice.post("/api/v1/notifications/read", json={"all": True}).json() == {"unread": 0}


def test_pagination_newest_first(signup):
    alice = signup("alice")
    for i in range(5):
        _follow(signup(f"fan{i}"), "alice")
    first = _notes(alice, limit=2)
    assert [n["actor"]["username"] for n in first["items"]] == ["fan4", "fan3"] and first["next_cursor"]
    second = _notes(alice, limit=2, cursor=first["next_cursor"])
    assert [n["actor"]["username"] for n in second["items"]] == ["fan2", "fan1"]
    assert alice.get("/api/v1/notifications", params={"limit": 0}).status_code == 422
    assert alice.get("/api/v1/notifications").status_code == 200
    assert signup("xavier").get("/api/v1/notifications", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_no_notification_for_self_mute_block_or_disabled_kind(signup):
    alice, bob, carol, dave = signup("alice"), signup("bob"), signup("carol"), signup("dave")
    r = alice.post("/api/v1/posts", json={"body": "note to @alice self"})
    assert r.status_code == 201, r.text
    assert alice.post("/api/v1/users/bob/mute").status_code == 204
    _follow(bob, "alice")
    assert alice.post("/api/v1/users/carol/block").status_code == 204
    assert carol.post("/api/v1/posts", json={"body": "hey @alice"}).status_code == 201
    r = alice.request("PUT", "/api/v1/notifications/preferences", json={"follow": False})
    assert r.status_code == 200 and r.json()["follow"] is False and r.json()["mention"] is True
    _follow(dave, "alice")
    assert _notes(alice)["items"] == []
    assert alice.get("/api/v1/notifications/preferences").json()["follow"] is False
    # a kind still enabled is delivered
    assert dave.post("/api/v1/posts", json={"body": "hello @alice"}).status_code == 201
    assert [n["kind"] for n in _notes(alice)["items"]] == ["mention"]


def test_preferences_validation(signup):
    alice = signup("alice")
    prefs = alice.get("/api/v1/notifications/preferences").json()
    assert set(prefs) >= {"follow", "mention", "message", "reaction"} and all(prefs.values())
    r = alice.request("PUT", "/api/v1/notifications/preferences", json={"nonsense": True})
    assert r.status_code == 422 and "nonsense" in r.json()["fields"]


def test_post_excerpt_only_while_visible_and_blocked_actor_hidden(signup):
    alice, bob = signup("alice"), signup("bob")
    r = bob.post("/api/v1/posts", json={"body": "look @alice at this", "visibility": "mentioned"})
    assert r.status_code == 201, r.text
    post_id = r.json()["id"]
    [note] = _notes(alice)["items"]
    assert note["kind"] == "mention" and note["post"] == {"id": post_id, "excerpt": "look @alice at this"}
    assert bob.delete(f"/api/v1/posts/{post_id}").status_code == 204
    [note] = _notes(alice)["items"]
    assert note["post"] is None  # the deleted post is not shown
    # once blocked, the blocked account's notifications are gone from the list and the count
    assert alice.post("/api/v1/users/bob/block").status_code == 204
    assert _notes(alice)["items"] == [] and _notes(alice)["unread"] == 0


def test_private_post_excerpt_not_leaked_to_a_non_follower(signup):
    """A followers-only post mentioning alice shows its excerpt to her (mentioned); nobody else is notified."""
    alice, bob = signup("alice"), signup("bob")
    r = bob.post("/api/v1/posts", json={"body": "followers only, hi @alice", "visibility": "followers"})
    assert r.status_code == 201
    [note] = _notes(alice)["items"]
    assert note["post"]["id"] == r.json()["id"]  # mentioned: she may see it
    eve = signup("eve")
    assert _notes(eve)["items"] == []


def test_pages_list_badge_read_all_and_settings(browser, signup):
    alice, bob = signup("alice"), signup("bob")
    web = browser(alice, csrf=True)
    assert "Nothing here yet" in web.get("/notifications").text
    assert "hidden" in web.get("/notifications/badge").text
    _follow(bob, "alice")
    home = web.get("/notifications/settings")
    assert 'id="notif-badge"' in home.text  # the nav badge placeholder in base.html
    badge = web.get("/notifications/badge").text
    assert ">1<" in badge and "hidden" not in badge
    page = web.get("/notifications")  # opening the list marks it seen (tests/social/test_ui_notifications.py)
    assert page.status_code == 200 and "Bob started following you" in page.text and 'id="notif-list"' in page.text
    note_id = alice.get("/api/v1/notifications").json()["items"][0]["id"]
    assert "Bob" in web.get(f"/notifications/item/{note_id}").text
    assert browser(bob).get(f"/notifications/item/{note_id}").status_code == 404
    assert web.post("/notifications/read-all").status_code == 303
    assert alice.get("/api/v1/notifications/unread-count").json() == {"unread": 0}
    r = web.post("/notifications/settings", data={"mention": "on"})
    assert r.status_code == 303
    prefs = alice.get("/api/v1/notifications/preferences").json()
    assert prefs["mention"] is True and prefs["follow"] is False
