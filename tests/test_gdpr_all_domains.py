"""Export and erasure of a person with data in every domain (identity, social, billing, hub, ai).

Alice gets posts, a poll, comments, reactions, a bookmark, a vote, follows, a block, a mute, a report,
messages with pictures, notifications, bought credits, a subscription, a listing and a sale, a purchase,
a payout, an API key and AI usage, all through the API. Her archive holds every item (and no one else's
private data); after the erasure no trace of what identifies her is left in any table, her files are gone
from storage, the ledger still verifies and her accounts keep their balances under an anonymous owner.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import httpx
import pytest
from PIL import Image

from smile.billing.ledger.verify import verify
from smile.identity.profile import gdpr
from smile.kit import runtime
from tests.billing.support import pay_sandbox, wait_for
from tests.social.test_media import _s3
from tests.support import enable_mfa

BILLING = "/api/v1/billing"


def picture(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 32), color).save(out, "PNG")
    return out.getvalue()


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def upload(api, color: str) -> dict:
    return ok(
        api.post("/api/v1/media", files={"file": ("p.png", picture(color), "image/png")}, data={"alt": f"alt {color}"}),
        201,
    )


async def _session(fn, *args):
    async with runtime.current().db.session() as session:
        return await fn(session, *args)


def export_archive(api) -> tuple[dict, list[str]]:
    ok(api.post("/api/v1/users/me/export"), 202)
    ready = wait_for(
        lambda: next((e for e in api.get("/api/v1/users/me/exports").json() if e["status"] == "ready"), None),
        timeout=30,
        message="export ready",
    )
    archive = zipfile.ZipFile(io.BytesIO(api.get(ready["download_url"]).content))
    return json.loads(archive.read("data.json")), archive.namelist()


def ids(rows: list[dict], key: str = "id") -> set[str]:
    return {str(r[key]) for r in rows}


def every_row_text(db) -> dict[str, str]:
    """Each table's rows as one text (what a search of the whole database would see)."""
    tables = [r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    return {t: " ".join(r[0] for r in db.execute(f'SELECT t::text FROM "{t}" t')).lower() for t in tables}


@pytest.fixture
def world(signup, server, db):
    """Alice with data in every domain, Bob who talks with and buys from her, Carol she blocked, Dave who
    blocked her. Returns a dict of what was made."""
    alice, bob, carol, dave = signup(), signup(), signup(), signup()
    w = {"alice": alice, "bob": bob, "carol": carol, "dave": dave}
    marker = f"m{uuid.uuid4().hex[:8]}"  # in every text Alice writes
    w["marker"] = marker
    ok(alice.patch("/api/v1/users/me", json={"bio": f"bio {marker}", "location": f"town {marker}"}))
    ok(alice.request("PUT", "/api/v1/users/me/avatar", files={"file": ("a.png", picture("red"), "image/png")}))
    # social
    post_media = upload(alice, "blue")
    w["post"] = ok(
        alice.post(
            "/api/v1/posts",
            json={
                "body": f"my post {marker} #gdpr",
                "media_ids": [post_media["id"]],
                "poll": {"options": ["yes", "no"]},
            },
        ),
        201,
    )
    w["edit"] = ok(alice.patch(f"/api/v1/posts/{w['post']['id']}", json={"body": f"my edited post {marker}"}))
    bobs = ok(bob.post("/api/v1/posts", json={"body": "bob's post", "poll": {"options": ["a", "b"]}}), 201)
    w["bobs_post"] = bobs
    w["comment"] = ok(alice.post(f"/api/v1/posts/{bobs['id']}/comments", json={"body": f"comment {marker}"}), 201)
    w["reply"] = ok(
        bob.post(f"/api/v1/posts/{bobs['id']}/comments", json={"body": "bob's reply", "parent_id": w["comment"]["id"]}),
        201,
    )
    ok(alice.request("PUT", f"/api/v1/posts/{bobs['id']}/reaction", json={"kind": "love"}))
    ok(alice.request("PUT", f"/api/v1/posts/{bobs['id']}/bookmark"))
    w["option"] = bobs["poll"]["options"][0]["id"]
    ok(alice.post(f"/api/v1/posts/{bobs['id']}/poll/vote", json={"option_id": w["option"]}))
    ok(bob.request("PUT", f"/api/v1/posts/{w['post']['id']}/reaction", json={"kind": "like"}))  # notifies Alice
    ok(alice.post(f"/api/v1/users/{bob.user['username']}/follow"))
    ok(bob.post(f"/api/v1/users/{alice.user['username']}/follow"))
    ok(alice.post(f"/api/v1/users/{carol.user['username']}/block"), 204)
    ok(alice.post(f"/api/v1/users/{bob.user['username']}/mute"), 204)
    ok(dave.post(f"/api/v1/users/{alice.user['username']}/block"), 204)
    w["report"] = ok(
        alice.post(
            "/api/v1/reports",
            json={"target_type": "post", "target_id": bobs["id"], "reason": "spam", "details": f"report {marker}"},
        ),
        201,
    )
    ok(alice.request("PUT", "/api/v1/notifications/preferences", json={"mention": False}))
    talk = ok(alice.post("/api/v1/conversations", json={"member_usernames": [bob.user["username"]]}), 201)
    w["conversation"] = talk
    message_media = upload(alice, "green")
    w["message"] = ok(
        alice.post(
            f"/api/v1/conversations/{talk['id']}/messages",
            json={"body": f"dm {marker}", "media_ids": [message_media["id"]]},
        ),
        201,
    )
    w["bobs_message"] = ok(
        bob.post(f"/api/v1/conversations/{talk['id']}/messages", json={"body": "bob's private words"}), 201
    )
    w["media"] = [post_media, message_media]
    # billing: credits bought by card, a subscription, a purchase, a sale and a payout
    starter = next(p for p in alice.get(f"{BILLING}/credits/packages").json() if p["slug"] == "starter")
    bought = ok(alice.post(f"{BILLING}/credits/purchases", json={"package_id": starter["id"]}), 201)
    pay_sandbox(alice, bought["checkout_url"])
    wait_for(lambda: alice.get(f"{BILLING}/credits/wallet").json()["balance"] == 500, message="credits bought")
    w["payment"] = bought["payment_id"]
    pay_sandbox(alice, ok(alice.post(f"{BILLING}/subscriptions", json={"plan": "creator_pro"}), 201)["checkout_url"])
    w["subscription"] = wait_for(
        lambda: next(
            (s for s in alice.get(f"{BILLING}/subscriptions").json()["items"] if s["status"] in ("active", "trialing")),
            None,
        ),
        message="subscribed",
    )
    bobs_listing = ok(
        bob.post(
            f"{BILLING}/listings",
            json={"title": "Bob's guide", "price": 500, "credit_price": 10, "product_type": "digital"},
        ),
        201,
    )
    w["purchase"] = ok(alice.post(f"{BILLING}/listings/{bobs_listing['id']}/buy", json={"method": "credits"}), 201)[
        "sale"
    ]
    w["listing"] = ok(
        alice.post(
            f"{BILLING}/listings",
            json={
                "title": "Alice's guide",
                "description": f"listing {marker}",
                "price": 2000,
                "credit_price": 1667,
                "product_type": "digital",
            },
        ),
        201,
    )  # 1,667 credits are worth 15.00 to Alice
    pro = next(p for p in bob.get(f"{BILLING}/credits/packages").json() if p["slug"] == "pro")
    pay_sandbox(bob, ok(bob.post(f"{BILLING}/credits/purchases", json={"package_id": pro["id"]}), 201)["checkout_url"])
    wait_for(lambda: bob.get(f"{BILLING}/credits/wallet").json()["balance"] == 2200, message="bob's credits")
    w["sale"] = ok(bob.post(f"{BILLING}/listings/{w['listing']['id']}/buy", json={"method": "credits"}), 201)["sale"]
    ok(bob.post(f"{BILLING}/sales/{w['sale']['id']}/confirm"))
    enable_mfa(alice)
    w["destination"] = f"IBAN {marker.upper()} 0000"
    ok(alice.put(f"{BILLING}/payout-account", json={"destination": w["destination"]}))
    db.execute(
        "UPDATE payout_accounts SET usable_from = now() WHERE user_id = %s",  # as if the cooling-off
        (alice.user["id"],),
    )  # period had passed
    w["payout"] = ok(alice.post(f"{BILLING}/payouts", json={}), 201)
    # hub and ai: a key, and a chat through the gateway with it
    w["key"] = ok(alice.post("/api/v1/hub/keys", json={"name": f"laptop {marker}"}), 201)
    chat = httpx.post(
        f"{server.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {w['key']['secret']}"},
        json={"model": "offline", "messages": [{"role": "user", "content": f"hi {marker}"}], "max_tokens": 20},
        timeout=30,
    )
    assert chat.status_code == 200, chat.text
    w["usage_id"] = db.execute("SELECT id FROM ai_usage WHERE user_id = %s", (alice.user["id"],)).fetchone()[0]
    return w


def test_export_holds_every_item_and_no_one_elses_private_data(world):
    alice, bob = world["alice"], world["bob"]
    data, names = export_archive(alice)
    assert {"profile", "social", "billing", "hub", "ai"} <= set(data)
    social, billing = data["social"], data["billing"]
    assert ids(social["posts"]) == {world["post"]["id"]}
    assert len(social["post_edits"]) == 1 and len(social["poll_options"]) == 2
    assert ids(social["comments"]) == {world["comment"]["id"]}
    assert ids(social["reactions"], "post_id") == {world["bobs_post"]["id"]}
    assert ids(social["bookmarks"], "post_id") == {world["bobs_post"]["id"]}
    assert ids(social["poll_votes"], "option_id") == {world["option"]}
    assert ids(social["following"], "user_id") == ids(social["followers"], "user_id") == {bob.user["id"]}
    assert ids(social["blocked"], "user_id") == {world["carol"].user["id"]}
    assert ids(social["muted"], "user_id") == {bob.user["id"]}
    assert ids(social["reports_filed"]) == {world["report"]["id"]}
    assert ids(social["conversations"]) == {world["conversation"]["id"]}
    assert ids(social["messages"]) == {world["message"]["id"]}
    assert ids(social["media"]) == {m["id"] for m in world["media"]}
    assert {n["kind"] for n in social["notifications"]} >= {"reaction", "follow"}
    assert social["notification_preferences"] == {"mention": False}
    media_files = {f"media/{m['id']}.webp" for m in world["media"]}
    assert media_files <= set(names) and "avatar.webp" in names
    accounts = {(a["purpose"], a["currency"]): a for a in billing["ledger_accounts"]}
    assert {e["kind"] for e in accounts[("wallet", "CRD")]["entries"]} >= {"credit_purchase", "sale"}
    assert accounts[("earnings", "USD")]["entries"]
    assert ids(billing["payments"]) >= {world["payment"]}
    assert ids(billing["subscriptions"]) == {world["subscription"]["id"]}
    assert ids(billing["listings"]) == {world["listing"]["id"]}
    assert ids(billing["purchases"]) == {world["purchase"]["id"]}
    assert ids(billing["sales"]) == {world["sale"]["id"]} and "buyer_id" not in billing["sales"][0]
    assert billing["payout_account"][0]["destination"] == world["destination"]
    assert ids(billing["payouts"]) == {world["payout"]["id"]}
    assert ids(data["hub"]["api_keys"]) == {world["key"]["id"]} and "key_hash" not in data["hub"]["api_keys"][0]
    assert ids(data["ai"]["usage"]) == {str(world["usage_id"])}
    # nothing private of anyone else: not Bob's message, not that Dave blocked her
    text = json.dumps(data)
    assert "bob's private words" not in text and world["dave"].user["id"] not in text
    assert world["key"]["secret"] not in text


def _erase(alice, db, server, settings) -> None:
    ok(alice.delete("/api/v1/users/me", json={"password": alice.password}), 202)
    db.execute(
        "UPDATE users SET deletion_requested_at = now() - make_interval(days => %s + 1) WHERE id = %s",
        (settings.account_deletion_grace_days, alice.user["id"]),
    )
    assert server.call(_session(gdpr.erase_due_accounts)) == 1


def test_erasure_leaves_nothing_personal_and_the_books_balanced(world, db, server, settings, client):
    alice, bob, uid = world["alice"], world["bob"], world["alice"].user["id"]
    balances = db.execute(
        "SELECT id, purpose, currency, balance FROM ledger_accounts WHERE owner_id = %s ORDER BY id", (uid,)
    ).fetchall()
    files = [
        k
        for row in db.execute("SELECT storage_key, thumb_key FROM media WHERE owner_id = %s", (uid,))
        for k in row
        if k
    ]
    files.append(db.execute("SELECT avatar_key FROM users WHERE id = %s", (uid,)).fetchone()[0])
    assert len(files) >= 3 and all((settings.media_dir / k).exists() for k in files)
    counts = db.execute(
        "SELECT reactions_count, comments_count FROM posts WHERE id = %s", (world["bobs_post"]["id"],)
    ).fetchone()
    assert counts == (1, 2)
    _erase(alice, db, server, settings)

    # nothing that identifies her, or that she wrote, is left in any table
    secrets = [world["marker"], alice.email, alice.user["username"], alice.user["display_name"], world["key"]["hint"]]
    for table, text in every_row_text(db).items():
        for secret in secrets:
            assert secret.lower() not in text, f"{secret!r} is still in {table}"
    assert not [k for k in files if (settings.media_dir / k).exists()]
    for table, column in (
        ("posts", "author_id"),
        ("media", "owner_id"),
        ("reactions", "user_id"),
        ("bookmarks", "user_id"),
        ("poll_votes", "user_id"),
        ("follows", "follower_id"),
        ("follows", "followee_id"),
        ("blocks", "blocker_id"),
        ("blocks", "blocked_id"),
        ("mutes", "muter_id"),
        ("notifications", "user_id"),
        ("notifications", "actor_id"),
        ("conversation_members", "user_id"),
        ("stream_events", "user_id"),
        ("hub_api_keys", "user_id"),
        ("payout_accounts", "user_id"),
    ):
        assert db.execute(f"SELECT count(*) FROM {table} WHERE {column} = %s", (uid,)).fetchone()[0] == 0, table
    # other people's threads keep their shape: her comment and message are empty tombstones
    assert db.execute(
        "SELECT body, deleted_at IS NOT NULL FROM comments WHERE id = %s", (world["comment"]["id"],)
    ).fetchone() == ("", True)
    assert db.execute("SELECT body FROM comments WHERE id = %s", (world["reply"]["id"],)).fetchone() == ("bob's reply",)
    assert db.execute(
        "SELECT body, deleted_at IS NOT NULL FROM messages WHERE id = %s", (world["message"]["id"],)
    ).fetchone() == ("", True)
    assert [
        m["body"] for m in bob.get(f"/api/v1/conversations/{world['conversation']['id']}/messages").json()["items"]
    ] == ["bob's private words"]
    assert db.execute(
        "SELECT reactions_count, comments_count FROM posts WHERE id = %s", (world["bobs_post"]["id"],)
    ).fetchone() == (0, 1)
    assert db.execute("SELECT votes_count FROM poll_options WHERE id = %s", (world["option"],)).fetchone() == (0,)
    # money: the journal is untouched and verifies, her accounts keep their balances and are frozen
    assert server.call(_session(verify)) == []
    after = db.execute(
        "SELECT id, purpose, currency, balance FROM ledger_accounts WHERE owner_id = %s ORDER BY id", (uid,)
    ).fetchall()
    payout = db.execute("SELECT status, destination FROM payouts WHERE id = %s", (world["payout"]["id"],)).fetchone()
    assert payout == ("failed", "[erased]")  # not sent: the money went back to her earnings
    earnings = [(b[3], a[3]) for b, a in zip(balances, after, strict=True) if b[1] == "earnings"]
    assert earnings == [(0, world["payout"]["amount"])]
    assert [b for b in balances if b[1] != "earnings"] == [a for a in after if a[1] != "earnings"]
    assert db.execute(
        "SELECT bool_and(frozen_at IS NOT NULL) FROM ledger_accounts WHERE owner_id = %s", (uid,)
    ).fetchone() == (True,)
    owner = db.execute("SELECT email, display_name, status FROM users WHERE id = %s", (uid,)).fetchone()
    assert owner == (f"deleted-{uid}@invalid", "Deleted user", "deleted")
    # accounting rows stay, without the personal fields
    assert db.execute(
        "SELECT status, customer_ref, checkout_url FROM payments WHERE id = %s", (world["payment"],)
    ).fetchone() == ("paid", None, None)
    assert db.execute("SELECT status FROM sales WHERE id = %s", (world["sale"]["id"],)).fetchone() == ("released",)
    assert db.execute("SELECT status FROM subscriptions WHERE id = %s", (world["subscription"]["id"],)).fetchone() == (
        "canceled",
    )
    assert db.execute("SELECT active FROM listings WHERE id = %s", (world["listing"]["id"],)).fetchone() == (False,)
    usage = db.execute(
        "SELECT credits, input_tokens, error FROM ai_usage WHERE id = %s", (world["usage_id"],)
    ).fetchone()
    assert usage[0] > 0 and usage[1] > 0 and usage[2] is None
    # her key no longer works; Bob's side still does
    r = httpx.get(f"{server.url}/v1/models", headers={"Authorization": f"Bearer {world['key']['secret']}"})
    assert r.status_code == 401
    assert client.get(f"/api/v1/users/{alice.user['username']}").status_code == 404
    assert bob.get("/api/v1/users/me").status_code == 200


def test_export_and_erasure_on_s3(s3_server, signup, db, server, settings):
    """The same through the S3 backend: the archive streams the files from the bucket, erasure empties it."""
    storage = _s3(s3_server, "smile-gdpr")
    rt = runtime.current()
    before, rt.storage = rt.storage, storage
    try:
        alice = signup()
        ok(alice.request("PUT", "/api/v1/users/me/avatar", files={"file": ("a.png", picture("red"), "image/png")}))
        media = upload(alice, "blue")
        ok(alice.post("/api/v1/posts", json={"body": "on s3", "media_ids": [media["id"]]}), 201)

        def listed() -> list[str]:
            return [o["Key"] for o in storage.client.list_objects_v2(Bucket="smile-gdpr").get("Contents", [])]

        assert len(listed()) == 3  # the avatar, the picture and its thumbnail
        data, names = export_archive(alice)
        assert ids(data["social"]["media"]) == {media["id"]}
        assert {"avatar.webp", f"media/{media['id']}.webp"} <= set(names)
        _erase(alice, db, server, settings)
        assert listed() == []
    finally:
        rt.storage = before
