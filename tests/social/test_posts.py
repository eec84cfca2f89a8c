"""Posts API: create, read, edit history, delete, repost/quote, and who may see what."""

from __future__ import annotations


def post(api, body="hello world", **extra):
    r = api.post("/api/v1/posts", json={"body": body, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def follow(db, follower, followee, status="accepted"):
    db.execute(
        "INSERT INTO follows(follower_id, followee_id, status, created_at) VALUES (%s, %s, %s, now())",
        (follower.user["id"], followee.user["id"], status),
    )


def block(db, blocker, blocked):
    db.execute(
        "INSERT INTO blocks(blocker_id, blocked_id, created_at) VALUES (%s, %s, now())",
        (blocker.user["id"], blocked.user["id"]),
    )


def test_create_and_read_post_renders_safely(signup, client):
    alice = signup("alice")
    signup("bob")
    p = post(alice, "Hi @bob see https://example.com/x #Smile <script>alert(1)</script>")
    assert p["author"]["username"] == "alice" and p["author"]["is_ai"] is False
    assert '<a class="mention" href="/u/bob"' in p["body_html"]
    assert 'href="/tags/smile"' in p["body_html"]
    assert "<script>" not in p["body_html"] and "&lt;script&gt;" in p["body_html"]
    assert 'rel="nofollow ugc noopener"' in p["body_html"]
    r = client.get(f"/api/v1/posts/{p['id']}")  # anonymous reader
    assert r.status_code == 200 and r.json()["body"] == p["body"]
    assert r.json()["my_reaction"] is None and r.json()["counts"]["reactions"] == 0


def test_mention_notifies(signup, db):
    alice, bob = signup("alice"), signup("bob")
    p = post(alice, "ping @BOB")
    kinds = db.execute(
        "SELECT kind, actor_id::text FROM notifications WHERE user_id = %s AND post_id = %s", (bob.user["id"], p["id"])
    ).fetchall()
    assert kinds == [("mention", alice.user["id"])]


def test_unverified_cannot_post(signup):
    carol = signup("carol", verify=False)
    r = carol.post("/api/v1/posts", json={"body": "hi"})
    assert r.status_code == 403 and r.json()["error"] == "email_unverified"


def test_input_validation(signup):
    alice = signup("alice")
    assert alice.post("/api/v1/posts", json={"body": "x" * 5001}).status_code == 422
    assert alice.post("/api/v1/posts", json={"body": "  "}).status_code == 422
    assert alice.post("/api/v1/posts", json={"body": "a", "visibility": "secret"}).status_code == 422
    r = alice.post("/api/v1/posts", json={"body": "a", "poll": {"options": ["one"]}})
    assert r.status_code == 422 and "poll.options" in r.json()["fields"]


def test_followers_only_post(signup, db, client):
    alice, bob, eve = signup("alice"), signup("bob"), signup("eve")
    follow(db, bob, alice)
    follow(db, eve, alice, status="pending")
    p = post(alice, "for friends", visibility="followers")
    assert bob.get(f"/api/v1/posts/{p['id']}").status_code == 200
    assert eve.get(f"/api/v1/posts/{p['id']}").status_code == 404
    assert client.get(f"/api/v1/posts/{p['id']}").status_code == 404
    assert eve.get(f"/api/v1/posts/{p['id']}/edits").status_code == 404
    assert eve.post(f"/api/v1/posts/{p['id']}/comments", json={"body": "hey"}).status_code == 404


def test_private_account_public_post(signup, db, client):
    alice, bob, eve = signup("alice"), signup("bob"), signup("eve")
    db.execute("UPDATE users SET is_private = true WHERE id = %s", (alice.user["id"],))
    follow(db, bob, alice)
    p = post(alice, "public but private account")
    assert eve.get(f"/api/v1/posts/{p['id']}").status_code == 404
    assert client.get(f"/api/v1/posts/{p['id']}").status_code == 404
    assert bob.get(f"/api/v1/posts/{p['id']}").status_code == 200
    # nobody can repost it, not even a follower
    assert bob.post(f"/api/v1/posts/{p['id']}/repost").status_code == 422


def test_mentioned_only_post(signup):
    alice, bob, eve = signup("alice"), signup("bob"), signup("eve")
    p = post(alice, "psst @bob", visibility="mentioned")
    assert bob.get(f"/api/v1/posts/{p['id']}").status_code == 200
    assert eve.get(f"/api/v1/posts/{p['id']}").status_code == 404
    assert alice.get(f"/api/v1/posts/{p['id']}").status_code == 200


def test_blocked_user_sees_404_everywhere(signup, db):
    alice, bob = signup("alice"), signup("bob")
    p = post(alice, "public hello")
    block(db, alice, bob)
    pid = p["id"]
    assert bob.get(f"/api/v1/posts/{pid}").status_code == 404
    assert bob.get(f"/posts/{pid}", headers={"accept": "text/html"}).status_code == 404
    assert bob.post(f"/api/v1/posts/{pid}/comments", json={"body": "hey"}).status_code == 404
    assert bob.put(f"/api/v1/posts/{pid}/reaction", json={"kind": "like"}).status_code == 404
    assert bob.post(f"/api/v1/posts/{pid}/repost").status_code == 404
    assert bob.post("/api/v1/posts", json={"body": "q", "quote_of_id": pid}).status_code == 404
    # and the other way round: the blocker no longer sees the blocked person's posts
    q = post(bob, "bob speaks")
    assert alice.get(f"/api/v1/posts/{q['id']}").status_code == 404


def test_edit_keeps_history(signup, client):
    alice, bob = signup("alice"), signup("bob")
    p = post(alice, "first")
    r = alice.patch(f"/api/v1/posts/{p['id']}", json={"body": "second", "content_warning": "spoilers"})
    assert r.status_code == 200, r.text
    assert r.json()["body"] == "second" and r.json()["edited_at"] and r.json()["content_warning"] == "spoilers"
    assert bob.patch(f"/api/v1/posts/{p['id']}", json={"body": "hacked"}).status_code == 403
    edits = client.get(f"/api/v1/posts/{p['id']}/edits").json()
    assert [e["body"] for e in edits] == ["first"]


def test_delete_by_author_or_admin_only(signup, db):
    alice, bob = signup("alice"), signup("bob")
    p = post(alice, "to delete")
    assert bob.delete(f"/api/v1/posts/{p['id']}").status_code == 403
    assert alice.delete(f"/api/v1/posts/{p['id']}").status_code == 204
    assert alice.get(f"/api/v1/posts/{p['id']}").status_code == 404
    assert db.execute("SELECT deleted_at IS NOT NULL FROM posts WHERE id = %s", (p["id"],)).fetchone()[0]


def test_repost_and_quote(signup, db):
    alice, bob = signup("alice"), signup("bob")
    p = post(alice, "original")
    r = bob.post(f"/api/v1/posts/{p['id']}/repost")
    assert r.status_code == 201, r.text
    assert r.json()["repost_of"]["id"] == p["id"]
    assert bob.post(f"/api/v1/posts/{p['id']}/repost").status_code == 409
    assert alice.get(f"/api/v1/posts/{p['id']}").json()["counts"]["reposts"] == 1
    q = post(bob, "so true", quote_of_id=p["id"])
    assert q["quote_of"]["id"] == p["id"] and q["quote_of"]["author"]["username"] == "alice"
    kinds = sorted(
        k for (k,) in db.execute("SELECT kind FROM notifications WHERE user_id = %s", (alice.user["id"],)).fetchall()
    )
    assert kinds == ["quote", "repost"]
    assert bob.delete(f"/api/v1/posts/{p['id']}/repost").status_code == 204
    assert alice.get(f"/api/v1/posts/{p['id']}").json()["counts"]["reposts"] == 0
    followers_only = post(alice, "friends", visibility="followers")
    assert alice.post(f"/api/v1/posts/{followers_only['id']}/repost").status_code == 422


def test_quote_of_deleted_post_is_null(signup):
    alice, bob = signup("alice"), signup("bob")
    p = post(alice, "original")
    q = post(bob, "quoting", quote_of_id=p["id"])
    alice.delete(f"/api/v1/posts/{p['id']}")
    assert bob.get(f"/api/v1/posts/{q['id']}").json()["quote_of"] is None


def test_bookmarks_and_pins(signup):
    alice, bob = signup("alice"), signup("bob")
    p = post(alice, "keep me")
    assert bob.put(f"/api/v1/posts/{p['id']}/bookmark").status_code == 200
    assert bob.get(f"/api/v1/posts/{p['id']}").json()["bookmarked"] is True
    page = bob.get("/api/v1/bookmarks").json()
    assert [x["id"] for x in page["items"]] == [p["id"]]
    assert bob.delete(f"/api/v1/posts/{p['id']}/bookmark").status_code == 200
    assert bob.get("/api/v1/bookmarks").json()["items"] == []
    ids = [post(alice, f"p{i}")["id"] for i in range(4)]
    for pid in ids[:3]:
        assert alice.put(f"/api/v1/posts/{pid}/pin").status_code == 200
    assert alice.put(f"/api/v1/posts/{ids[3]}/pin").status_code == 409
    assert bob.put(f"/api/v1/posts/{p['id']}/pin").status_code == 403
    assert alice.delete(f"/api/v1/posts/{ids[0]}/pin").status_code == 200
    assert alice.put(f"/api/v1/posts/{ids[3]}/pin").status_code == 200
    assert alice.get(f"/api/v1/posts/{ids[3]}").json()["pinned"] is True


def test_media_ids_rejected_without_upload(signup):
    alice = signup("alice")
    r = alice.post("/api/v1/posts", json={"body": "pic", "media_ids": ["018f0000-0000-7000-8000-000000000000"]})
    assert r.status_code == 422 and r.json()["fields"] == {"media_ids": "unknown"}, r.text


def test_posting_is_rate_limited(signup, server):
    from smile.kit import runtime

    alice = signup("alice")
    limit = int(runtime.current().settings.rate_post.split("/")[0])
    codes = [alice.post("/api/v1/posts", json={"body": f"n{i}"}).status_code for i in range(limit + 1)]
    assert codes[:limit] == [201] * limit and codes[-1] == 429
