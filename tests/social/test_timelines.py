"""Home, profile, hashtag and explore timelines: fan-out, rebuild, merge on read, privacy, blocks and mutes."""

from __future__ import annotations

import time

import pytest

from smile.kit import runtime


def wait_jobs(db, timeout: float = 15) -> None:
    """Wait until the worker has run every queued job."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = db.execute("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')").fetchone()[0]
        if not left:
            return
        time.sleep(0.05)
    raise AssertionError("background jobs did not finish")


def post(api, body: str, **extra) -> dict:
    r = api.post("/api/v1/posts", json={"body": body, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def bodies(api, url: str, **params) -> list[str]:
    r = api.get(url, params=params)
    assert r.status_code == 200, r.text
    return [p["body"] for p in r.json()["items"]]


def home(api, **params) -> list[str]:
    return bodies(api, "/api/v1/timelines/home", **params)


def test_fan_out_home_order_and_cursor(signup, db):
    alice, bob = signup("alice"), signup("bob")
    assert home(alice) == []  # reading makes alice an active reader
    alice.post("/api/v1/users/bob/follow")
    post(alice, "mine")
    for i in range(3):
        post(bob, f"bob {i}")
    wait_jobs(db)
    entries = db.execute("SELECT count(*) FROM timeline_entries WHERE user_id = %s", (alice.user["id"],)).fetchone()[0]
    assert entries == 4  # fanned out on write, not read from follows
    assert home(alice) == ["bob 2", "bob 1", "bob 0", "mine"]
    first = alice.get("/api/v1/timelines/home", params={"limit": 3}).json()
    assert [p["body"] for p in first["items"]] == ["bob 2", "bob 1", "bob 0"] and first["next_cursor"]
    assert first["items"][0]["author"]["username"] == "bob" and first["items"][0]["author"]["is_ai"] is False
    second = alice.get("/api/v1/timelines/home", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [p["body"] for p in second["items"]] == ["mine"] and second["next_cursor"] is None
    assert home(bob) == ["bob 2", "bob 1", "bob 0"]  # bob does not follow alice
    # Unfollow removes bob's posts from alice's home.
    alice.delete("/api/v1/users/bob/follow")
    assert home(alice) == ["mine"]


def test_inactive_follower_gets_posts_by_rebuild(signup, db):
    bob, carol = signup("bob"), signup("carol")
    carol.post("/api/v1/users/bob/follow")
    wait_jobs(db)
    db.execute("DELETE FROM timeline_entries")  # as if carol had never been around
    post(bob, "while you were away")
    wait_jobs(db)
    assert (
        db.execute("SELECT count(*) FROM timeline_entries WHERE user_id = %s", (carol.user["id"],)).fetchone()[0] == 0
    )
    assert home(carol) == ["while you were away"]
    assert (
        db.execute(
            "SELECT timeline_built_at IS NOT NULL FROM social_activity WHERE user_id = %s", (carol.user["id"],)
        ).fetchone()[0]
        is True
    )


def test_approved_follow_request_backfills_home(signup, db):
    alice, bob = signup("alice"), signup("bob")
    bob.patch("/api/v1/users/me", json={"is_private": True})
    post(bob, "for followers", visibility="followers")
    home(alice)
    assert alice.post("/api/v1/users/bob/follow").json()["status"] == "pending"
    assert home(alice) == []
    assert alice.get("/api/v1/timelines/profile/bob").json()["items"] == []
    bob.post("/api/v1/follow-requests/alice/approve")
    wait_jobs(db)
    assert home(alice) == ["for followers"]
    assert bodies(alice, "/api/v1/timelines/profile/bob") == ["for followers"]


@pytest.fixture
def low_threshold(server):
    settings = runtime.current().settings
    old = settings.social_fanout_max_followers
    settings.social_fanout_max_followers = 1
    yield
    settings.social_fanout_max_followers = old


def test_large_account_merged_on_read(signup, db, low_threshold):
    star, a, b = signup("star"), signup("fana"), signup("fanb")
    a.post("/api/v1/users/star/follow")
    b.post("/api/v1/users/star/follow")
    home(a), home(b)
    post(a, "small account post")
    post(star, "from a big account")
    wait_jobs(db)
    fanned = db.execute(
        "SELECT count(*) FROM timeline_entries t JOIN posts p ON p.id = t.post_id "
        "WHERE p.body = 'from a big account' AND t.user_id <> p.author_id"
    ).fetchone()[0]
    assert fanned == 0  # not fanned out: over the threshold
    assert home(a) == ["from a big account", "small account post"]
    assert home(b) == ["from a big account"]
    page = a.get("/api/v1/timelines/home", params={"limit": 1}).json()
    rest = a.get("/api/v1/timelines/home", params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert [p["body"] for p in page["items"] + rest["items"]] == ["from a big account", "small account post"]


def test_mute_hides_from_home_but_not_profile(signup, db):
    alice, bob = signup("alice"), signup("bob")
    home(alice)
    alice.post("/api/v1/users/bob/follow")
    post(bob, "noisy")
    wait_jobs(db)
    assert home(alice) == ["noisy"]
    alice.post("/api/v1/users/bob/mute")
    assert home(alice) == []
    assert bodies(alice, "/api/v1/timelines/profile/bob") == ["noisy"]
    alice.delete("/api/v1/users/bob/mute")
    assert home(alice) == ["noisy"]


def test_block_hides_content_everywhere(signup, db):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    home(alice), home(bob)
    alice.post("/api/v1/users/bob/follow")
    bob.post("/api/v1/users/alice/follow")
    p = post(bob, "hello #sunny")
    q = post(alice, "hi back #sunny")
    wait_jobs(db)
    assert home(alice) == ["hi back #sunny", "hello #sunny"]
    assert bodies(alice, "/api/v1/timelines/explore") == ["hi back #sunny", "hello #sunny"]
    bob.post("/api/v1/users/alice/block")
    for viewer, other, other_post in ((alice, "bob", p), (bob, "alice", q)):
        assert home(viewer) == [f"{'hi back' if viewer is alice else 'hello'} #sunny"]
        assert viewer.get(f"/api/v1/timelines/profile/{other}").status_code == 404
        assert len(bodies(viewer, "/api/v1/timelines/tag/sunny")) == 1
        assert len(bodies(viewer, "/api/v1/timelines/explore")) == 1
        assert viewer.get(f"/api/v1/posts/{other_post['id']}").status_code == 404
    assert sorted(bodies(carol, "/api/v1/timelines/tag/SUNNY")) == ["hello #sunny", "hi back #sunny"]


def test_privacy_of_profile_tag_and_explore(signup, client, db):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    carol.post("/api/v1/users/alice/follow")
    post(alice, "public #topic")
    post(alice, "followers only #topic", visibility="followers")
    post(alice, "just for @bob #topic", visibility="mentioned")
    wait_jobs(db)
    assert bodies(client, "/api/v1/timelines/profile/alice") == ["public #topic"]
    assert bodies(client, "/api/v1/timelines/tag/topic") == ["public #topic"]
    assert bodies(client, "/api/v1/timelines/explore") == ["public #topic"]
    assert bodies(bob, "/api/v1/timelines/profile/alice") == ["just for @bob #topic", "public #topic"]
    assert home(bob) == ["just for @bob #topic"]
    assert bodies(carol, "/api/v1/timelines/tag/topic") == ["followers only #topic", "public #topic"]
    assert home(carol) == ["followers only #topic", "public #topic"]
    # A private account: nothing for non-followers, even its public posts.
    alice.patch("/api/v1/users/me", json={"is_private": True})
    assert bodies(client, "/api/v1/timelines/profile/alice") == []
    assert bodies(client, "/api/v1/timelines/explore") == []
    assert bodies(carol, "/api/v1/timelines/profile/alice") == ["followers only #topic", "public #topic"]
    assert client.get("/api/v1/timelines/profile/alice", params={"tab": "likes"}).json()["items"] == []


def test_profile_pins_first_and_tabs(signup, client):
    alice = signup("alice")
    first = post(alice, "first")
    post(alice, "second")
    post(alice, "third")
    r = (
        alice.put(f"/api/v1/posts/{first['id']}/pin")
        if hasattr(alice, "put")
        else alice.request("PUT", f"/api/v1/posts/{first['id']}/pin")
    )
    assert r.status_code == 200, r.text
    assert bodies(client, "/api/v1/timelines/profile/alice") == ["first", "third", "second"]
    page = client.get("/api/v1/timelines/profile/alice", params={"limit": 1}).json()
    assert [p["body"] for p in page["items"]] == ["first", "third"]  # pinned + one regular
    assert page["items"][0]["pinned"] is True
    rest = client.get("/api/v1/timelines/profile/alice", params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert [p["body"] for p in rest["items"]] == ["second"] and rest["next_cursor"] is None
    assert bodies(client, "/api/v1/timelines/profile/alice", tab="media") == []
    assert client.get("/api/v1/timelines/profile/alice", params={"tab": "nope"}).status_code == 422


def test_explore_ranks_by_engagement(signup, client):
    alice, bob = signup("alice"), signup("bob")
    liked = post(alice, "popular")
    post(alice, "quiet")
    r = bob.request("PUT", f"/api/v1/posts/{liked['id']}/reaction", json={"kind": "like"})
    assert r.status_code == 200, r.text
    assert bodies(client, "/api/v1/timelines/explore") == ["popular", "quiet"]
    page = client.get("/api/v1/timelines/explore", params={"limit": 1}).json()
    assert page["next_cursor"] == "1"
    assert client.get("/api/v1/timelines/explore", params={"cursor": "x"}).status_code == 422


def followers_of(db, api) -> int:
    row = db.execute("SELECT followers FROM social_counts WHERE user_id = %s", (api.user["id"],)).fetchone()
    return row[0] if row else 0


def test_follower_counts_follow_every_change(signup, db):
    """The stored count (what fan-out and merge on read use) matches follows through every kind of change."""
    alice, bob, carol, dave = signup("alice"), signup("bob"), signup("carol"), signup("dave")
    assert followers_of(db, alice) == 0
    for api in (bob, carol, dave):
        assert api.post("/api/v1/users/alice/follow").json()["status"] == "accepted"
    assert followers_of(db, alice) == 3
    assert alice.get("/api/v1/profiles/alice").json()["counts"]["followers"] == 3
    bob.delete("/api/v1/users/alice/follow")
    bob.delete("/api/v1/users/alice/follow")  # idempotent: counted once
    assert followers_of(db, alice) == 2
    alice.post("/api/v1/users/carol/block")  # removes carol's follow
    assert followers_of(db, alice) == 1
    # A private account: requests do not count until approved; a declined one never does.
    alice.patch("/api/v1/users/me", json={"is_private": True})
    assert bob.post("/api/v1/users/alice/follow").json()["status"] == "pending"
    assert signup("erin").post("/api/v1/users/alice/follow").json()["status"] == "pending"
    assert followers_of(db, alice) == 1
    assert alice.post("/api/v1/follow-requests/bob/approve").status_code == 204
    assert alice.post("/api/v1/follow-requests/erin/deny").status_code == 204
    assert followers_of(db, alice) == 2
    # Writes that bypass the service (a deleted account's cascade, raw SQL) keep it right too.
    db.execute("DELETE FROM users WHERE id = %s", (dave.user["id"],))
    assert followers_of(db, alice) == 1
    assert (
        db.execute(
            "SELECT count(*) FROM follows WHERE followee_id = %s AND status = 'accepted'", (alice.user["id"],)
        ).fetchone()[0]
        == 1
    )
    assert alice.get("/api/v1/profiles/alice").json()["counts"]["followers"] == 1


def test_home_items_carry_the_viewers_state(signup, db):
    """A home page item has what the post page has: reactions by kind, own reaction and bookmark, poll,
    reposted and quoted posts (null once the reader may no longer see them)."""
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    home(alice)
    alice.post("/api/v1/users/bob/follow")
    shared = post(carol, "worth sharing")
    poll = post(bob, "tea or coffee?", poll={"options": ["tea", "coffee"], "expires_in_minutes": 60})
    liked = post(bob, "liked")
    assert bob.post(f"/api/v1/posts/{shared['id']}/repost").status_code == 201
    post(bob, "quoting", quote_of_id=shared["id"])
    for api, kind in ((alice, "love"), (carol, "like")):
        assert api.request("PUT", f"/api/v1/posts/{liked['id']}/reaction", json={"kind": kind}).status_code == 200
    assert alice.put(f"/api/v1/posts/{liked['id']}/bookmark").status_code == 200
    wait_jobs(db)

    def items() -> dict[str, dict]:
        r = alice.get("/api/v1/timelines/home")
        assert r.status_code == 200, r.text
        return {p["body"] or "repost": p for p in r.json()["items"]}

    got = items()
    assert list(got) == ["quoting", "repost", "liked", "tea or coffee?"]
    assert got["liked"]["counts"]["by_kind"] == {"love": 1, "like": 1} and got["liked"]["counts"]["reactions"] == 2
    assert got["liked"]["my_reaction"] == "love" and got["liked"]["bookmarked"] is True
    assert got["liked"]["poll"] is None and got["liked"]["media"] == []
    assert got["quoting"]["my_reaction"] is None and got["quoting"]["bookmarked"] is False
    assert got["quoting"]["quote_of"]["author"]["username"] == "carol"
    assert got["repost"]["repost_of"]["body"] == "worth sharing"
    options = got["tea or coffee?"]["poll"]["options"]
    assert [o["label"] for o in options] == ["tea", "coffee"] and options[0]["votes"] is None
    r = alice.post(f"/api/v1/posts/{poll['id']}/poll/vote", json={"option_id": options[1]["id"]})
    assert r.status_code == 200, r.text
    voted = items()["tea or coffee?"]["poll"]
    assert voted["my_vote"] == options[1]["id"] and [o["votes"] for o in voted["options"]] == [0, 1]
    # carol goes private: alice (not her follower) no longer sees the reposted and quoted post.
    carol.patch("/api/v1/users/me", json={"is_private": True})
    got = items()
    assert got["quoting"]["quote_of"] is None and got["quoting"]["quote_of_id"] == shared["id"]
    assert got["repost"]["repost_of"] is None
