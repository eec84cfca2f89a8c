"""Search: fuzzy people, ranked full-text posts, hashtags; privacy through every search path."""

from __future__ import annotations


def post(api, body: str, visibility: str = "public") -> str:
    r = api.post("/api/v1/posts", json={"body": body, "visibility": visibility})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def follow(db, follower, followee, status="accepted") -> None:
    db.execute(
        "INSERT INTO follows (follower_id, followee_id, status, created_at) VALUES (%s, %s, %s, now())",
        (follower.user["id"], followee.user["id"], status),
    )


def block(db, blocker, blocked) -> None:
    db.execute(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (%s, %s, now())",
        (blocker.user["id"], blocked.user["id"]),
    )


def names(r) -> list[str]:
    assert r.status_code == 200, r.text
    return [p["username"] for p in r.json()["items"]]


def post_ids(r) -> list[str]:
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()["items"]]


def test_people_search_is_fuzzy_prefix_first_and_flags_ai(signup, client, db):
    signup("jonathan")
    signup("jonas")
    signup("maria")
    bot = signup("helperbot")
    db.execute(
        "UPDATE users SET account_type = 'ai_agent', display_name = 'Jonathan Helper' WHERE id = %s", (bot.user["id"],)
    )
    found = names(client.get("/api/v1/search/people", params={"q": "jonatan"}))  # a typo
    assert "jonathan" in found and "maria" not in found
    prefix = names(client.get("/api/v1/search/people", params={"q": "jon"}))
    assert set(prefix) == {"jonas", "jonathan", "helperbot"}  # helperbot by display name
    assert names(client.get("/api/v1/search/people", params={"q": "jonathan"}))[0] == "jonathan"  # exact first
    hits = {
        p["username"]: p for p in client.get("/api/v1/search/people", params={"q": "Jonathan Helper"}).json()["items"]
    }
    assert hits["helperbot"]["is_ai"] is True and hits["helperbot"]["account_type"] == "ai_agent"
    assert "jonathan" not in hits or hits["jonathan"]["is_ai"] is False
    assert names(client.get("/api/v1/search/people", params={"q": "@maria"})) == ["maria"]


def test_people_search_hides_suspended_deleted_and_blocked(signup, db):
    alice, bob = signup("alice"), signup("viewer")
    signup("suspendedsam")
    signup("goneguy")
    signup("blockerbea")
    db.execute("UPDATE users SET status = 'suspended' WHERE username = 'suspendedsam'")
    db.execute("UPDATE users SET status = 'deleted' WHERE username = 'goneguy'")
    assert names(bob.get("/api/v1/search/people", params={"q": "suspendedsam"})) == []
    assert names(bob.get("/api/v1/search/people", params={"q": "goneguy"})) == []
    bea = db.execute("SELECT id FROM users WHERE username = 'blockerbea'").fetchone()[0]
    assert names(bob.get("/api/v1/search/people", params={"q": "blockerbea"})) == ["blockerbea"]
    db.execute("INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (%s, %s, now())", (bea, bob.user["id"]))
    assert names(bob.get("/api/v1/search/people", params={"q": "blockerbea"})) == []  # blocked by them
    block(db, bob, alice)
    assert names(bob.get("/api/v1/search/people", params={"q": "alice"})) == []  # blocked by me
    assert names(alice.get("/api/v1/search/people", params={"q": "viewer"})) == []


def test_empty_query_is_422_with_a_message(client):
    for kind in ("people", "posts", "hashtags"):
        r = client.get(f"/api/v1/search/{kind}", params={"q": "   "})
        assert r.status_code == 422 and r.json()["detail"] and r.json()["fields"]["q"] == "required"
    assert client.get("/api/v1/search/posts").status_code == 422
    assert client.get("/api/v1/search/posts", params={"q": "x", "cursor": "nope"}).status_code == 422


def test_post_search_ranks_and_paginates(signup, client):
    alice = signup("alice")
    weak = post(alice, "a long day, and then some gardening notes about tomatoes")
    strong = post(alice, "tomatoes tomatoes tomatoes: my tomatoes guide")
    post(alice, "nothing to see here")
    assert post_ids(client.get("/api/v1/search/posts", params={"q": "tomatoes"})) == [strong, weak]
    assert post_ids(client.get("/api/v1/search/posts", params={"q": "tomatoes -guide"})) == [weak]
    first = client.get("/api/v1/search/posts", params={"q": "tomatoes", "limit": 1}).json()
    assert [p["id"] for p in first["items"]] == [strong] and first["next_cursor"]
    second = client.get("/api/v1/search/posts", params={"q": "tomatoes", "limit": 1, "cursor": first["next_cursor"]})
    assert post_ids(second) == [weak] and second.json()["next_cursor"] is None
    assert first["items"][0]["author"]["username"] == "alice" and first["items"][0]["author"]["is_ai"] is False


def test_post_search_privacy(signup, client, db):
    author, follower, stranger, priv = signup("author"), signup("follower"), signup("stranger"), signup("privy")
    follow(db, follower, author)
    public = post(author, "zebra public news")
    followers_only = post(author, "zebra followers secret", "followers")
    mentioned = post(author, "zebra for @stranger only", "mentioned")
    db.execute("UPDATE users SET is_private = true WHERE id = %s", (priv.user["id"],))
    private_public = post(priv, "zebra from a private account")
    search = lambda api: set(post_ids(api.get("/api/v1/search/posts", params={"q": "zebra"})))  # noqa: E731

    assert search(client) == {public}
    assert search(stranger) == {public, mentioned}
    assert search(follower) == {public, followers_only}
    assert search(author) == {public, followers_only, mentioned}
    assert search(priv) == {public, private_public}
    follow(db, follower, priv, status="pending")
    assert private_public not in search(follower)
    db.execute("UPDATE follows SET status = 'accepted' WHERE followee_id = %s", (priv.user["id"],))
    assert private_public in search(follower)
    # a block hides the author's posts both ways
    block(db, author, follower)
    assert search(follower) == {private_public}
    block(db, stranger, author)
    assert search(stranger) == set()
    # suspended authors vanish from search
    db.execute("UPDATE users SET status = 'suspended' WHERE id = %s", (priv.user["id"],))
    assert search(follower) == set()


def test_held_post_only_for_its_author(signup, client, db):
    alice, bob = signup("alice"), signup("bob")
    held = post(alice, "quokka held for review")
    db.execute("UPDATE posts SET status = 'held' WHERE id = %s", (held,))
    assert post_ids(bob.get("/api/v1/search/posts", params={"q": "quokka"})) == []
    assert post_ids(alice.get("/api/v1/search/posts", params={"q": "quokka"})) == [held]


def test_hashtag_search_counts_public_posts_only(signup, client, db):
    alice, priv = signup("alice"), signup("privy")
    post(alice, "loving #python today")
    post(alice, "more #python and #pytest")
    post(alice, "#pythonista vibes")
    post(alice, "secret #pythonsecret", "followers")
    db.execute("UPDATE users SET is_private = true WHERE id = %s", (priv.user["id"],))
    post(priv, "#pythonprivate stuff")
    r = client.get("/api/v1/search/hashtags", params={"q": "#Py"})
    assert r.status_code == 200, r.text
    tags = {t["tag"]: t["posts"] for t in r.json()["items"]}
    assert tags == {"python": 2, "pytest": 1, "pythonista": 1}
    assert r.json()["items"][0] == {"tag": "python", "posts": 2, "url": "/tags/python"}
    exact = client.get("/api/v1/search/hashtags", params={"q": "pythonista"}).json()["items"]
    assert [t["tag"] for t in exact] == ["pythonista"]


def test_search_page_tabs(signup, client, db):
    alice = signup("alice")
    signup("jonathan")
    post(alice, "walrus facts #walrus")
    page = alice.get("/search", params={"q": "jonatan"})
    assert page.status_code == 200 and "@jonathan" in page.text and 'aria-current="page"' in page.text
    posts_tab = alice.get("/search", params={"q": "walrus", "tab": "posts"})
    assert posts_tab.status_code == 200 and "walrus facts" in posts_tab.text
    tags = alice.get("/search", params={"q": "walr", "tab": "tags"}, headers={"HX-Request": "true"})
    assert tags.status_code == 200 and "#walrus" in tags.text and "<html" not in tags.text
    empty = alice.get("/search")
    assert empty.status_code == 200 and "Search people" in empty.text
    assert 'action="/search"' in alice.get("/").text  # the nav search box
