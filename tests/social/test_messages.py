"""Direct messages: 1:1 and groups, who-can-message, blocks, privacy (404 for non-members), receipts, leave, mute."""

from __future__ import annotations


def _start(api, *names, title=None):
    body = {"member_usernames": list(names)}
    if title:
        body["title"] = title
    return api.post("/api/v1/conversations", json=body)


def _send(api, conversation_id, body="hello"):
    return api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": body})


def test_direct_conversation_is_reused_and_messages_flow(signup):
    alice, bob = signup("alice"), signup("bob")
    r = _start(alice, "bob")
    assert r.status_code == 201, r.text
    conv = r.json()
    assert conv["kind"] == "direct"
    assert {m["username"] for m in conv["members"]} == {"alice", "bob"}
    assert all("is_ai" in m for m in conv["members"])
    again = _start(bob, "@Alice")
    assert again.status_code == 201 and again.json()["id"] == conv["id"]

    r = _send(alice, conv["id"], "hi <b>bob</b> see https://example.com")
    assert r.status_code == 201, r.text
    msg = r.json()
    assert msg["sender"]["username"] == "alice" and msg["status"] == "visible"
    assert "<b>" not in msg["body_html"] and 'rel="nofollow ugc noopener"' in msg["body_html"]

    listed = bob.get("/api/v1/conversations").json()["items"]
    assert listed[0]["id"] == conv["id"] and listed[0]["unread"] == 1
    assert listed[0]["last_message"]["id"] == msg["id"]
    page = bob.get(f"/api/v1/conversations/{conv['id']}/messages").json()
    assert [m["id"] for m in page["items"]] == [msg["id"]]

    r = bob.post(f"/api/v1/conversations/{conv['id']}/read", json={"message_id": msg["id"]})
    assert r.status_code == 204
    assert bob.get("/api/v1/conversations").json()["items"][0]["unread"] == 0
    assert alice.get(f"/api/v1/conversations/{conv['id']}").json()["read_by"] == {bob.user["id"]: msg["id"]}


def test_message_pagination_newest_first(signup):
    alice, _ = signup("alice"), signup("bob")
    conv = _start(alice, "bob").json()
    ids = [_send(alice, conv["id"], f"m{i}").json()["id"] for i in range(5)]
    first = alice.get(f"/api/v1/conversations/{conv['id']}/messages", params={"limit": 3}).json()
    assert [m["id"] for m in first["items"]] == ids[::-1][:3] and first["next_cursor"]
    second = alice.get(
        f"/api/v1/conversations/{conv['id']}/messages", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert [m["id"] for m in second["items"]] == ids[::-1][3:] and second["next_cursor"] is None


def test_conversation_list_pagination_by_activity(signup):
    alice = signup("alice")
    names = ["bob", "carol", "dave"]
    for name in names:
        signup(name)
    convs = [_start(alice, n).json()["id"] for n in names]
    _send(alice, convs[0], "bump")  # most recent activity
    first = alice.get("/api/v1/conversations", params={"limit": 2}).json()
    assert first["items"][0]["id"] == convs[0] and first["next_cursor"]
    rest = alice.get("/api/v1/conversations", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    seen = [c["id"] for c in first["items"] + rest["items"]]
    assert sorted(seen) == sorted(convs) and len(set(seen)) == 3
    assert alice.get("/api/v1/conversations", params={"cursor": "nonsense!"}).status_code == 422


def test_non_member_gets_404_everywhere(signup):
    alice, _, eve = signup("alice"), signup("bob"), signup("eve")
    conv = _start(alice, "bob").json()
    msg = _send(alice, conv["id"], "secret").json()
    base = f"/api/v1/conversations/{conv['id']}"
    assert eve.get(base).status_code == 404
    assert eve.get(base + "/messages").status_code == 404
    assert _send(eve, conv["id"]).status_code == 404
    assert eve.post(base + "/read", json={"message_id": msg["id"]}).status_code == 404
    assert eve.post(base + "/leave").status_code == 404
    assert eve.request("PUT", base + "/mute", json={"muted": True}).status_code == 404
    assert eve.get("/api/v1/conversations").json()["items"] == []
    assert eve.get("/api/v1/notifications").json()["items"] == []


def test_who_can_message_and_blocks(signup):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    assert bob.patch("/api/v1/users/me", json={"who_can_message": "nobody"}).status_code == 200
    r = _start(alice, "bob")
    assert r.status_code == 403 and "does not accept messages from you" in r.json()["detail"]
    assert bob.patch("/api/v1/users/me", json={"who_can_message": "everyone"}).status_code == 200
    assert _start(alice, "bob").status_code == 201
    # A block answers 404 (the block is not revealed), in both directions, also inside a group.
    assert carol.post("/api/v1/users/alice/block").status_code == 204
    assert _start(alice, "carol").status_code == 404
    assert _start(carol, "alice").status_code == 404
    assert _start(alice, "bob", "carol", title="party").status_code == 404
    assert _start(alice, "nobody_here").status_code == 404
    assert _start(alice, "alice").status_code == 422


# who_can_message -> (may bob, whom alice follows, reach alice; may alice, bob's follower, reach bob)
POLICIES = {"everyone": (True, True), "followers": (False, True), "following": (True, False), "nobody": (False, False)}


def test_who_can_message_means_its_label_from_both_sides(signup):
    """alice follows bob, bob does not follow alice: "followers" lets in the people who follow me,
    "following" the people I follow; the same rule guards adding someone to a group."""
    alice, bob = signup("alice"), signup("bob")
    signup("carol")  # the member both groups are started with
    assert alice.post("/api/v1/users/bob/follow").status_code in (200, 201)
    assert bob.get("/api/v1/users/bob/followers").json()["items"][0]["username"] == "alice"
    group = _start(alice, "carol", title="alice's group").json()["id"]
    bob_group = _start(bob, "carol", title="bob's group").json()["id"]
    for policy, (bob_reaches_alice, alice_reaches_bob) in POLICIES.items():
        for api in (alice, bob):
            assert api.patch("/api/v1/users/me", json={"who_can_message": policy}).json()["who_can_message"] == policy
        expect = {True: 201, False: 403}
        assert _start(bob, "alice").status_code == expect[bob_reaches_alice], policy
        assert _start(alice, "bob").status_code == expect[alice_reaches_bob], policy
        added = bob.post(f"/api/v1/conversations/{bob_group}/members", json={"usernames": ["alice"]})
        assert added.status_code == {True: 200, False: 403}[bob_reaches_alice], (policy, added.text)
        added = alice.post(f"/api/v1/conversations/{group}/members", json={"usernames": ["bob"]})
        assert added.status_code == {True: 200, False: 403}[alice_reaches_bob], (policy, added.text)
        for api, conversation, member in ((alice, bob_group, bob_reaches_alice), (bob, group, alice_reaches_bob)):
            left = api.post(f"/api/v1/conversations/{conversation}/leave")  # to be added again next round
            assert left.status_code == (204 if member else 404), policy


def test_a_pending_follow_request_is_not_a_follow(signup):
    alice, bob = signup("alice"), signup("bob")
    assert bob.patch("/api/v1/users/me", json={"is_private": True, "who_can_message": "followers"}).status_code == 200
    assert alice.post("/api/v1/users/bob/follow").status_code in (200, 201, 202)
    assert _start(alice, "bob").status_code == 403  # alice only asked to follow bob
    assert alice.patch("/api/v1/users/me", json={"is_private": True, "who_can_message": "following"}).status_code == 200
    assert _start(bob, "alice").status_code == 403


def test_block_after_conversation_stops_messages(signup):
    alice, bob = signup("alice"), signup("bob")
    conv = _start(alice, "bob").json()
    assert _send(alice, conv["id"], "before").status_code == 201
    assert bob.post("/api/v1/users/alice/block").status_code == 204
    r = _send(alice, conv["id"], "after")
    assert r.status_code == 403
    # bob no longer sees alice's messages
    assert bob.get(f"/api/v1/conversations/{conv['id']}/messages").json()["items"] == []


def test_group_members_leave_and_add(signup):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    signup("dave")
    r = _start(alice, "bob", "carol", title="Trip")
    assert r.status_code == 201, r.text
    group = r.json()
    assert group["kind"] == "group" and group["title"] == "Trip" and len(group["members"]) == 3
    base = f"/api/v1/conversations/{group['id']}"
    _send(alice, group["id"], "plan?")
    assert bob.post(base + "/members", json={"usernames": ["dave"]}).status_code == 403
    r = alice.post(base + "/members", json={"usernames": ["dave"]})
    assert r.status_code == 200 and len(r.json()["members"]) == 4
    assert bob.post(base + "/leave").status_code == 204
    assert bob.get(base + "/messages").status_code == 404
    assert _send(bob, group["id"]).status_code == 404
    assert len(carol.get(base + "/messages").json()["items"]) == 1  # history kept for the others
    assert {m["username"] for m in carol.get(base).json()["members"]} == {"alice", "carol", "dave"}


def test_group_size_limit(signup):
    alice = signup("alice")
    names = [f"user{i:02d}" for i in range(50)]
    r = _start(alice, *names, title="big")
    assert r.status_code == 422


def test_message_notifications_respect_mute_and_coalesce(signup):
    alice, bob = signup("alice"), signup("bob")
    conv = _start(alice, "bob").json()
    _send(alice, conv["id"], "one")
    _send(alice, conv["id"], "two")
    notes = bob.get("/api/v1/notifications").json()["items"]
    assert [n["kind"] for n in notes] == ["message"] and notes[0]["conversation_id"] == conv["id"]
    last = bob.get(f"/api/v1/conversations/{conv['id']}/messages").json()["items"][0]
    bob.post(f"/api/v1/conversations/{conv['id']}/read", json={"message_id": last["id"]})
    assert bob.get("/api/v1/notifications/unread-count").json()["unread"] == 0
    r = bob.request("PUT", f"/api/v1/conversations/{conv['id']}/mute", json={"muted": True})
    assert r.status_code == 200 and r.json()["muted"] is True
    _send(alice, conv["id"], "three")
    assert bob.get("/api/v1/notifications/unread-count").json()["unread"] == 0
    assert bob.get("/api/v1/conversations").json()["items"][0]["unread"] == 1


def test_held_message_only_seen_by_sender(signup, server):
    from smile.kit import runtime

    settings = runtime.current().settings
    old = settings.moderation_blocklist
    settings.moderation_blocklist = "forbiddenword"
    try:
        alice, bob = signup("alice"), signup("bob")
        conv = _start(alice, "bob").json()
        r = _send(alice, conv["id"], "this has forbiddenword inside")
        assert r.status_code == 201 and r.json()["status"] == "held"
        assert len(alice.get(f"/api/v1/conversations/{conv['id']}/messages").json()["items"]) == 1
        assert bob.get(f"/api/v1/conversations/{conv['id']}/messages").json()["items"] == []
        assert bob.get("/api/v1/notifications").json()["items"] == []
    finally:
        settings.moderation_blocklist = old


def test_empty_message_and_rate_limit(signup, server):
    from smile.kit import runtime

    alice, _ = signup("alice"), signup("bob")
    conv = _start(alice, "bob").json()
    assert _send(alice, conv["id"], "   ").status_code == 422
    settings = runtime.current().settings
    old = settings.rate_message
    settings.rate_message = "3/minute"
    try:
        codes = [_send(alice, conv["id"], f"m{i}").status_code for i in range(4)]
    finally:
        settings.rate_message = old
    assert codes == [201, 201, 201, 429]


def test_pages_list_start_chat_and_send(browser, signup, db):
    alice, bob, eve = signup("alice"), signup("bob"), signup("eve")
    db.execute("UPDATE users SET account_type = 'ai_agent' WHERE username = 'bob'")
    web = browser(alice, csrf=True)
    r = web.get("/messages")
    assert r.status_code == 200 and "New conversation" in r.text and "No conversations yet" in r.text
    r = web.post("/messages", data={"members": "@nobody_at_all", "title": ""})
    assert r.status_code == 404 and "no account named @nobody_at_all" in r.text
    r = web.post("/messages", data={"members": "bob", "title": ""})
    assert r.status_code == 303
    chat_url = r.headers["location"]
    conversation_id = chat_url.rsplit("/", 1)[1]
    r = web.post(f"{chat_url}/send", data={"body": "hello <script>x</script>"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.text.lstrip().startswith('<li id="msg-') and "<script>" not in r.text
    message_id = r.text.split('id="msg-', 1)[1].split('"', 1)[0]
    page = web.get(chat_url)
    assert page.status_code == 200 and "hello &lt;script&gt;" in page.text
    assert "🤖" in page.text and 'id="typing"' in page.text and "/static/js/stream.js" in page.text
    assert web.get(f"{chat_url}/m/{message_id}").status_code == 200
    assert "hello" in web.get("/messages/list").text
    # bob sees it in his list; eve gets 404 on the chat and the fragment
    bob_web = browser(bob)
    assert "hello" in bob_web.get("/messages").text
    eve_web = browser(eve, csrf=True)
    assert eve_web.get(chat_url).status_code == 404
    assert eve_web.get(f"{chat_url}/m/{message_id}").status_code == 404
    assert eve_web.post(f"{chat_url}/send", data={"body": "x"}).status_code == 404
    # opening the chat marks it read for bob
    assert bob_web.get(chat_url).status_code == 200
    assert bob.get(f"/api/v1/conversations/{conversation_id}").json()["unread"] == 0
    r = web.post(f"{chat_url}/leave")
    assert r.status_code == 303 and web.get(chat_url).status_code == 404


def test_message_with_image_visible_to_members_only(signup):
    import io

    from PIL import Image

    alice, bob, eve = signup("alice"), signup("bob"), signup("eve")
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 120, 255)).save(out, "PNG")
    r = alice.post("/api/v1/media", files={"file": ("pic.png", out.getvalue(), "image/png")}, data={"alt": "blue"})
    assert r.status_code == 201, r.text
    media_id = r.json()["id"]
    conv = _start(alice, "bob").json()
    r = alice.post(f"/api/v1/conversations/{conv['id']}/messages", json={"body": "", "media_ids": [media_id]})
    assert r.status_code == 201, r.text
    [media] = r.json()["media"]
    assert media["id"] == media_id and media["alt"] == "blue"
    seen = bob.get(f"/api/v1/conversations/{conv['id']}/messages").json()["items"][0]
    assert seen["media"][0]["id"] == media_id
    assert bob.get(media["url"]).status_code == 200
    assert eve.get(media["url"]).status_code == 404
    # the same upload cannot be attached twice
    r = alice.post(f"/api/v1/conversations/{conv['id']}/messages", json={"body": "again", "media_ids": [media_id]})
    assert r.status_code == 422


def test_page_add_members_to_group(browser, signup):
    alice, bob = signup("alice"), signup("bob")
    signup("carol")
    conv = _start(alice, "bob", title="Team").json()
    web = browser(alice, csrf=True)
    assert "Add people" in web.get(f"/messages/{conv['id']}").text
    r = web.post(f"/messages/{conv['id']}/members", data={"members": "@carol"})
    assert r.status_code == 303
    assert {m["username"] for m in alice.get(f"/api/v1/conversations/{conv['id']}").json()["members"]} == {
        "alice",
        "bob",
        "carol",
    }
    bob_web = browser(bob, csrf=True)
    assert "Add people" not in bob_web.get(f"/messages/{conv['id']}").text
    r = bob_web.post(f"/messages/{conv['id']}/members", data={"members": "carol"})
    assert r.status_code == 303 and len(alice.get(f"/api/v1/conversations/{conv['id']}").json()["members"]) == 3
