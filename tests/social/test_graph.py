"""Follows, follow requests, followers lists, blocks, mutes, profiles and reports."""

from __future__ import annotations


def make_private(api) -> None:
    r = api.patch("/api/v1/users/me", json={"is_private": True})
    assert r.status_code == 200, r.text


def names(page: dict) -> list[str]:
    return [u["username"] for u in page["items"]]


def test_follow_public_account_and_unfollow(signup, db):
    alice, bob = signup("alice"), signup("bob")
    r = alice.post("/api/v1/users/bob/follow")
    assert r.status_code == 200 and r.json() == {"status": "accepted"}
    assert alice.post("/api/v1/users/BOB/follow").json() == {"status": "accepted"}  # idempotent, case-insensitive
    assert names(bob.get("/api/v1/users/bob/followers").json()) == ["alice"]
    assert names(alice.get("/api/v1/users/alice/following").json()) == ["bob"]
    rel = alice.get("/api/v1/users/bob/relationship").json()
    assert rel["following"] and not rel["followed_by"] and not rel["requested"]
    assert bob.get("/api/v1/users/alice/relationship").json()["followed_by"] is True
    kinds = [r[0] for r in db.execute("SELECT kind FROM notifications WHERE user_id = %s", (bob.user["id"],))]
    assert kinds == ["follow"]
    profile = client_profile = bob.get("/api/v1/profiles/bob").json()
    assert client_profile["counts"] == {"followers": 1, "following": 0, "posts": 0} and profile["is_self"]
    assert alice.delete("/api/v1/users/bob/follow").status_code == 204
    assert bob.get("/api/v1/users/bob/followers").json()["items"] == []
    assert alice.post("/api/v1/users/alice/follow").status_code == 422
    assert alice.post("/api/v1/users/nobody/follow").status_code == 404


def test_private_account_request_approve_and_deny(signup, db, client):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    make_private(bob)
    assert alice.post("/api/v1/users/bob/follow").json() == {"status": "pending"}
    assert carol.post("/api/v1/users/bob/follow").json() == {"status": "pending"}
    kinds = [r[0] for r in db.execute("SELECT kind FROM notifications WHERE user_id = %s", (bob.user["id"],))]
    assert kinds == ["follow_request", "follow_request"]
    assert alice.get("/api/v1/users/bob/relationship").json()["requested"] is True
    assert sorted(names(bob.get("/api/v1/follow-requests").json())) == ["alice", "carol"]
    # Nobody else sees a private account's lists; a pending request is not enough.
    for api in (alice, client):
        assert api.get("/api/v1/users/bob/followers").status_code == 404
        assert api.get("/api/v1/users/bob/following").status_code == 404
    assert bob.post("/api/v1/follow-requests/alice/approve").status_code == 204
    assert bob.post("/api/v1/follow-requests/carol/deny").status_code == 204
    assert bob.post("/api/v1/follow-requests/carol/approve").status_code == 404
    assert bob.get("/api/v1/follow-requests").json()["items"] == []
    assert alice.get("/api/v1/users/bob/relationship").json()["following"] is True
    assert carol.get("/api/v1/users/bob/relationship").json() == {
        "following": False,
        "followed_by": False,
        "requested": False,
        "requested_by": False,
        "blocking": False,
        "muting": False,
    }
    assert names(alice.get("/api/v1/users/bob/followers").json()) == ["alice"]
    assert carol.get("/api/v1/users/bob/followers").status_code == 404
    # Cancelling a request removes it.
    assert carol.post("/api/v1/users/bob/follow").json() == {"status": "pending"}
    assert carol.delete("/api/v1/users/bob/follow").status_code == 204
    assert bob.get("/api/v1/follow-requests").json()["items"] == []


def test_followers_list_paginates(signup):
    star = signup("star")
    fans = [signup(f"fan{i}") for i in range(5)]
    for fan in fans:
        assert fan.post("/api/v1/users/star/follow").status_code == 200
    seen, cursor = [], None
    while True:
        page = star.get(
            "/api/v1/users/star/followers", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += names(page)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == [f"fan{i}" for i in range(5)] and len(seen) == 5
    assert star.get("/api/v1/users/star/followers", params={"cursor": "%%bad"}).status_code == 422
    assert star.get("/api/v1/users/star/followers", params={"limit": 101}).status_code == 422


def test_block_removes_follows_both_ways_and_hides_account(signup, client):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    make_private(alice)
    alice.post("/api/v1/users/bob/follow")
    bob.post("/api/v1/users/alice/follow")
    carol.post("/api/v1/users/alice/follow")
    assert alice.post("/api/v1/users/bob/block").status_code == 204
    assert alice.get("/api/v1/users/bob/relationship").json()["blocking"] is True
    assert names(alice.get("/api/v1/blocks").json()) == ["bob"]
    assert alice.get("/api/v1/users/alice/following").json()["items"] == []
    assert alice.get("/api/v1/follow-requests").json()["items"] != []  # carol's request survives
    assert names(alice.get("/api/v1/follow-requests").json()) == ["carol"]
    # The blocked person cannot see or follow the blocker (404 reveals nothing); the blocker gets 409.
    assert bob.get("/api/v1/profiles/alice").status_code == 404
    assert bob.get("/api/v1/users/alice/followers").status_code == 404
    assert bob.post("/api/v1/users/alice/follow").status_code == 404
    r = alice.post("/api/v1/users/bob/follow")
    assert r.status_code == 409 and "unblock" in r.json()["detail"]
    # Unblock restores visibility but not the follows.
    assert alice.delete("/api/v1/users/bob/block").status_code == 204
    assert bob.get("/api/v1/profiles/alice").status_code == 200
    assert bob.get("/api/v1/users/alice/relationship").json()["following"] is False


def test_mute_and_mutes_list(signup):
    alice, _ = signup("alice"), signup("bob")
    assert alice.post("/api/v1/users/bob/mute").status_code == 204
    assert names(alice.get("/api/v1/mutes").json()) == ["bob"]
    assert alice.get("/api/v1/users/bob/relationship").json()["muting"] is True
    assert alice.get("/api/v1/profiles/bob").status_code == 200  # muting hides nothing on the profile
    assert alice.delete("/api/v1/users/bob/mute").status_code == 204
    assert alice.get("/api/v1/mutes").json()["items"] == []
    assert alice.post("/api/v1/users/alice/mute").status_code == 422


def test_profile_counts_and_anonymous_view(signup, client):
    alice, bob = signup("alice"), signup("bob")
    bob.post("/api/v1/users/alice/follow")
    alice.post("/api/v1/users/bob/follow")
    body = client.get("/api/v1/profiles/alice").json()
    assert body["counts"]["followers"] == 1 and body["counts"]["following"] == 1
    assert body["relationship"] is None and body["is_ai"] is False
    rel = bob.get("/api/v1/profiles/alice").json()["relationship"]
    assert rel["following"] and rel["followed_by"]
    assert client.get("/api/v1/profiles/ghost").status_code == 404


def test_report_user_once_and_not_when_blocked(signup, db):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    body = {"target_type": "user", "target_id": bob.user["id"], "reason": "spam", "details": "ads"}
    r = alice.post("/api/v1/reports", json=body)
    assert r.status_code == 201 and r.json()["status"] == "open"
    assert alice.post("/api/v1/reports", json=body).status_code == 409
    assert alice.post("/api/v1/reports", json={**body, "reason": "bogus"}).status_code == 422
    bob.post("/api/v1/users/carol/block")
    r = carol.post("/api/v1/reports", json=body)
    assert r.status_code == 404
    assert alice.post("/api/v1/reports", json={**body, "target_type": "post"}).status_code == 404
    assert alice.post("/api/v1/reports", json={**body, "target_type": "message"}).status_code == 404
    rows = db.execute("SELECT reporter_id::text, target_user_id::text, reason FROM reports").fetchall()
    assert rows == [(alice.user["id"], bob.user["id"], "spam")]
