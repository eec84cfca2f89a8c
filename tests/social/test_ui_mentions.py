"""@mentions in comments notify the people named, under the same rules as mentions in posts."""

from __future__ import annotations

from tests.social.test_comments import comment
from tests.social.test_posts import follow, post


def _mentions(db, user) -> list[tuple]:
    return db.execute(
        "SELECT actor_id::text, post_id::text, comment_id::text FROM notifications "
        "WHERE user_id = %s AND kind = 'mention' ORDER BY id",
        (user.user["id"],),
    ).fetchall()


def test_comment_mention_notifies_with_the_comment(signup, db):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    p = post(alice, "what do you think?")
    c = comment(bob, p["id"], "ask @Carol, she knows (and @nobody_here)")
    assert _mentions(db, carol) == [(bob.user["id"], p["id"], c["id"])]
    [note] = carol.get("/api/v1/notifications").json()["items"]
    assert note["kind"] == "mention" and note["comment_id"] == c["id"]
    assert note["text"] == "Bob mentioned you in a comment" and note["post"]["id"] == p["id"]


def test_comment_mention_never_widens_the_post_audience(signup, db):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    follow(db, bob, alice)
    friends = post(alice, "for my followers", visibility="followers")
    comment(bob, friends["id"], "hey @carol look")  # carol does not follow alice: she may not see it
    assert _mentions(db, carol) == []
    follow(db, carol, alice)
    c = comment(bob, friends["id"], "now @carol can see it")
    assert _mentions(db, carol) == [(bob.user["id"], friends["id"], c["id"])]


def test_comment_mention_respects_blocks_mutes_and_preferences(signup, db):
    alice, bob, carol, dave, erin = (signup(n) for n in ("alice", "bob", "carol", "dave", "erin"))
    p = post(alice, "open thread")
    assert carol.post("/api/v1/users/bob/block").status_code == 204
    assert dave.post("/api/v1/users/bob/mute").status_code == 204
    r = erin.put("/api/v1/notifications/preferences", json={"mention": False})
    assert r.status_code == 200 and r.json()["mention"] is False
    comment(bob, p["id"], "cc @carol @dave @erin @bob")
    assert [_mentions(db, u) for u in (carol, dave, erin, bob)] == [[], [], [], []]


def test_owner_and_parent_author_are_told_once(signup, db):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    p = post(alice, "thread")
    parent = comment(carol, p["id"], "first")
    reply = comment(bob, p["id"], "@alice @carol agreed", parent_id=parent["id"])
    rows = db.execute(
        "SELECT user_id::text, kind FROM notifications WHERE comment_id = %s ORDER BY id", (reply["id"],)
    ).fetchall()
    assert sorted(rows) == sorted([(alice.user["id"], "comment"), (carol.user["id"], "comment")])


def test_held_comment_mentions_nobody(signup, db):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    p = post(alice, "fine post")
    links = " ".join(f"https://spam{i}.example" for i in range(12))
    r = bob.post(f"/api/v1/posts/{p['id']}/comments", json={"body": f"@carol {links}"})
    assert r.status_code == 201 and r.json()["status"] == "held"
    assert _mentions(db, carol) == []
