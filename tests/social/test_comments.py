"""Comments: threading, deletion rights, notifications, privacy."""

from __future__ import annotations

from tests.social.test_posts import block, follow, post


def comment(api, pid, body="nice", parent_id=None):
    r = api.post(f"/api/v1/posts/{pid}/comments", json={"body": body, "parent_id": parent_id})
    assert r.status_code == 201, r.text
    return r.json()


def test_threaded_comments_and_notifications(signup, db, client):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    p = post(alice, "discuss")
    c1 = comment(bob, p["id"], "first!")
    reply = comment(carol, p["id"], "reply to bob", parent_id=c1["id"])
    comment(alice, p["id"], "<b>bold</b> @bob")
    page = client.get(f"/api/v1/posts/{p['id']}/comments").json()
    assert [c["body"] for c in page["items"]] == ["first!", "<b>bold</b> @bob"]
    assert page["items"][0]["replies"][0]["id"] == reply["id"]
    assert "&lt;b&gt;" in page["items"][1]["body_html"]
    assert client.get(f"/api/v1/posts/{p['id']}").json()["counts"]["comments"] == 3
    notes = db.execute("SELECT user_id::text, kind FROM notifications WHERE kind = 'comment' ORDER BY id").fetchall()
    assert (alice.user["id"], "comment") in notes and (bob.user["id"], "comment") in notes
    assert len([n for n in notes if n[0] == alice.user["id"]]) == 2  # bob's and carol's, not her own


def test_pagination_of_top_level_comments(signup, client):
    alice = signup("alice")
    p = post(alice, "many")
    ids = [comment(alice, p["id"], f"c{i}")["id"] for i in range(5)]
    first = client.get(f"/api/v1/posts/{p['id']}/comments", params={"limit": 3}).json()
    second = client.get(f"/api/v1/posts/{p['id']}/comments", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [c["id"] for c in first["items"] + second["items"]] == ids and second["next_cursor"] is None


def test_parent_must_belong_to_same_post(signup):
    alice = signup("alice")
    p1, p2 = post(alice, "one"), post(alice, "two")
    c = comment(alice, p1["id"])
    r = alice.post(f"/api/v1/posts/{p2['id']}/comments", json={"body": "x", "parent_id": c["id"]})
    assert r.status_code == 422 and "parent_id" in r.json()["fields"]


def test_delete_rights(signup, client):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    p = post(alice, "mine")
    c_bob = comment(bob, p["id"], "bob's")
    c_carol = comment(carol, p["id"], "carol's")
    reply = comment(bob, p["id"], "reply", parent_id=c_carol["id"])
    assert carol.delete(f"/api/v1/comments/{c_bob['id']}").status_code == 403
    assert bob.delete(f"/api/v1/comments/{c_bob['id']}").status_code == 204  # its author
    assert alice.delete(f"/api/v1/comments/{c_carol['id']}").status_code == 204  # the post's owner
    items = client.get(f"/api/v1/posts/{p['id']}/comments").json()["items"]
    assert len(items) == 1 and items[0]["deleted"] is True and items[0]["author"] is None  # keeps its reply
    assert items[0]["replies"][0]["id"] == reply["id"]
    assert client.get(f"/api/v1/posts/{p['id']}").json()["counts"]["comments"] == 1


def test_blocked_and_non_followers_cannot_comment_or_read(signup, db):
    alice, bob, eve = signup("alice"), signup("bob"), signup("eve")
    p = post(alice, "hello")
    c = comment(eve, p["id"], "eve was here")
    block(db, alice, eve)
    assert eve.post(f"/api/v1/posts/{p['id']}/comments", json={"body": "again"}).status_code == 404
    assert eve.get(f"/api/v1/posts/{p['id']}/comments").status_code == 404
    # alice no longer sees the blocked person's comment
    assert [x["id"] for x in alice.get(f"/api/v1/posts/{p['id']}/comments").json()["items"]] == []
    assert bob.get(f"/api/v1/posts/{p['id']}/comments").json()["items"][0]["id"] == c["id"]
    friends = post(alice, "friends only", visibility="followers")
    assert bob.post(f"/api/v1/posts/{friends['id']}/comments", json={"body": "hi"}).status_code == 404
    follow(db, bob, alice)
    assert bob.post(f"/api/v1/posts/{friends['id']}/comments", json={"body": "hi"}).status_code == 201


def test_post_page_shows_comments_and_reply_form(signup, client):
    alice, bob = signup("alice"), signup("bob")
    p = post(alice, "page test")
    comment(bob, p["id"], "visible <i>comment</i>")
    html = client.get(f"/posts/{p['id']}", headers={"accept": "text/html"}).text
    assert "page test" in html and "visible &lt;i&gt;comment&lt;/i&gt;" in html
    assert 'href="/u/bob"' in html and "Log in</a> to comment" in html
