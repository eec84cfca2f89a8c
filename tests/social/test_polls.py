"""Polls: one vote each, hidden results until voting/expiry, closing notifies once."""

from __future__ import annotations

from tests.social.test_posts import post


def test_vote_once_and_results(signup):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    p = post(alice, "tea or coffee?", poll={"options": ["tea", "coffee"], "expires_in_minutes": 60})
    assert p["poll"]["results_visible"] is True  # the author sees results
    before = bob.get(f"/api/v1/posts/{p['id']}").json()["poll"]
    assert before["results_visible"] is False and before["options"][0]["votes"] is None
    tea = before["options"][0]["id"]
    r = bob.post(f"/api/v1/posts/{p['id']}/poll/vote", json={"option_id": tea})
    assert r.status_code == 200, r.text
    assert r.json()["poll"]["my_vote"] == tea and r.json()["poll"]["options"][0]["votes"] == 1
    assert bob.post(f"/api/v1/posts/{p['id']}/poll/vote", json={"option_id": tea}).status_code == 409
    assert carol.get(f"/api/v1/posts/{p['id']}").json()["poll"]["total_votes"] is None
    other = post(alice, "other", poll={"options": ["a", "b"]})
    r = carol.post(f"/api/v1/posts/{p['id']}/poll/vote", json={"option_id": other["poll"]["options"][0]["id"]})
    assert r.status_code == 422


def test_poll_validation(signup):
    alice = signup("alice")
    for poll in (
        {"options": ["a"]},
        {"options": list("abcde")},
        {"options": ["a", "a"]},
        {"options": ["a", "b"], "expires_in_minutes": 1},
        {"options": ["a", "b"], "expires_in_minutes": 20000},
    ):
        assert alice.post("/api/v1/posts", json={"body": "q", "poll": poll}).status_code == 422, poll


def test_expired_poll_closes_and_notifies_once(signup, db, server):
    from smile.kit import runtime
    from smile.social.posts import polls

    alice, bob = signup("alice"), signup("bob")
    p = post(alice, "quick", poll={"options": ["yes", "no"], "expires_in_minutes": 5})
    bob.post(f"/api/v1/posts/{p['id']}/poll/vote", json={"option_id": p["poll"]["options"][1]["id"]})
    db.execute("UPDATE polls SET expires_at = now() - interval '1 minute' WHERE post_id = %s", (p["id"],))
    r = bob.post(f"/api/v1/posts/{p['id']}/poll/vote", json={"option_id": p["poll"]["options"][0]["id"]})
    assert r.status_code == 422 and r.json()["fields"] == {"option_id": "poll closed"}
    anon = bob.get(f"/api/v1/posts/{p['id']}").json()["poll"]
    assert anon["closed"] is True and anon["options"][1]["votes"] == 1

    async def close():
        async with runtime.current().db.session() as session:
            return await polls.close_expired(session)

    first, second = server.call(close()), server.call(close())
    assert (first, second) in ((1, 0), (0, 0))  # the periodic job may have run it already
    rows = db.execute(
        "SELECT user_id::text FROM notifications WHERE kind = 'poll_ended' AND post_id = %s", (p["id"],)
    ).fetchall()
    assert sorted(r[0] for r in rows) == sorted([alice.user["id"], bob.user["id"]])
    assert db.execute("SELECT ended_notified_at IS NOT NULL FROM polls WHERE post_id = %s", (p["id"],)).fetchone()[0]
