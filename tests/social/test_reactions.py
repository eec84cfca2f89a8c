"""Reactions: one per person, atomic counts, who reacted, notifications, privacy."""

from __future__ import annotations

from tests.social.test_posts import block, post


def test_react_change_and_remove(signup, db, client):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    p = post(alice, "react to me")
    r = bob.put(f"/api/v1/posts/{p['id']}/reaction", json={"kind": "like"})
    assert r.status_code == 200 and r.json()["my_reaction"] == "like" and r.json()["counts"]["reactions"] == 1
    r = bob.put(f"/api/v1/posts/{p['id']}/reaction", json={"kind": "love"})
    assert r.json()["counts"]["reactions"] == 1 and r.json()["counts"]["by_kind"] == {"love": 1}
    carol.put(f"/api/v1/posts/{p['id']}/reaction", json={"kind": "love"})
    got = client.get(f"/api/v1/posts/{p['id']}/reactions").json()
    assert got["counts"] == {"love": 2} and {x["user"]["username"] for x in got["items"]} == {"bob", "carol"}
    notes = db.execute(
        "SELECT count(*) FROM notifications WHERE kind = 'reaction' AND user_id = %s", (alice.user["id"],)
    ).fetchone()[0]
    assert notes == 2  # first reaction of each person only, not bob's change
    assert bob.delete(f"/api/v1/posts/{p['id']}/reaction").json()["counts"]["reactions"] == 1
    assert bob.delete(f"/api/v1/posts/{p['id']}/reaction").json()["counts"]["reactions"] == 1  # idempotent
    assert client.get(f"/api/v1/posts/{p['id']}").json()["counts"]["reactions"] == 1


def test_unknown_kind_rejected(signup):
    alice = signup("alice")
    p = post(alice)
    r = alice.put(f"/api/v1/posts/{p['id']}/reaction", json={"kind": "angry"})
    assert r.status_code == 422 and "kind" in r.json()["fields"]


def test_reactors_list_paginates_and_hides_blocked(signup, db):
    alice, bob, carol, dave = signup("alice"), signup("bob"), signup("carol"), signup("dave")
    p = post(alice, "popular")
    for api in (bob, carol, dave):
        assert api.put(f"/api/v1/posts/{p['id']}/reaction", json={"kind": "laugh"}).status_code == 200
    block(db, dave, carol)
    seen = dave.get(f"/api/v1/posts/{p['id']}/reactions", params={"limit": 1}).json()
    names = [x["user"]["username"] for x in seen["items"]]
    more = dave.get(f"/api/v1/posts/{p['id']}/reactions", params={"limit": 1, "cursor": seen["next_cursor"]}).json()
    names += [x["user"]["username"] for x in more["items"]]
    assert sorted(names) == ["bob", "dave"] and more["next_cursor"] is None


def test_blocked_user_cannot_react(signup, db):
    alice, bob = signup("alice"), signup("bob")
    p = post(alice)
    block(db, bob, alice)
    assert bob.put(f"/api/v1/posts/{p['id']}/reaction", json={"kind": "like"}).status_code == 404
    assert bob.get(f"/api/v1/posts/{p['id']}/reactions").status_code == 404
    assert alice.get(f"/api/v1/posts/{p['id']}").json()["counts"]["reactions"] == 0
