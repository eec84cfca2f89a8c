"""The moderation step: rules, held content visible only to its author, reports opened."""

from __future__ import annotations

from smile.social.moderation import evaluate
from tests.social.test_posts import post


def test_rules():
    assert evaluate("buy cheap pills now", blocklist="pills, re:casin[o0]") == "blocklist"
    assert evaluate("visit my CASIN0", blocklist="pills, re:casin[o0]") == "blocklist"
    assert evaluate("spillsover", blocklist="pills") is None  # whole words only
    assert evaluate(" ".join(f"https://x{i}.com" for i in range(9))) == "links"
    assert evaluate("a" * 40) == "repeated"
    assert evaluate("a perfectly normal post https://example.com") is None


def test_held_post_visible_only_to_author(signup, db, client):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    spam = post(alice, "WIN " + "!" * 50 + " @bob")
    assert spam["status"] == "held"
    assert alice.get(f"/api/v1/posts/{spam['id']}").status_code == 200
    assert bob.get(f"/api/v1/posts/{spam['id']}").status_code == 404  # even though mentioned
    assert client.get(f"/api/v1/posts/{spam['id']}").status_code == 404
    assert carol.put(f"/api/v1/posts/{spam['id']}/reaction", json={"kind": "like"}).status_code == 404
    report = db.execute(
        "SELECT reporter_id, target_type, target_user_id::text, reason, status FROM reports WHERE target_id = %s",
        (spam["id"],),
    ).fetchone()
    assert report == (None, "post", alice.user["id"], "auto:repeated", "open")
    assert db.execute("SELECT count(*) FROM notifications WHERE user_id = %s", (bob.user["id"],)).fetchone()[0] == 0


def test_held_comment_visible_only_to_author(signup, db, client):
    alice, bob = signup("alice"), signup("bob")
    p = post(alice, "fine post")
    links = " ".join(f"https://spam{i}.example" for i in range(12))
    r = bob.post(f"/api/v1/posts/{p['id']}/comments", json={"body": links})
    assert r.status_code == 201 and r.json()["status"] == "held"
    assert [c["id"] for c in bob.get(f"/api/v1/posts/{p['id']}/comments").json()["items"]] == [r.json()["id"]]
    assert alice.get(f"/api/v1/posts/{p['id']}/comments").json()["items"] == []
    assert db.execute("SELECT reason FROM reports WHERE target_type = 'comment'").fetchone() == ("auto:links",)
    assert db.execute("SELECT count(*) FROM notifications WHERE kind = 'comment'").fetchone()[0] == 0
