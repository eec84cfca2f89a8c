"""The real-time stream: live delivery, catch-up by cursor, auth, privacy, typing, cross-site protection."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
import structlog
from websockets.exceptions import InvalidStatus

from tests.social.stream_client import Stream


def _conversation(api, *names, title=None):
    body = {"member_usernames": list(names)} | ({"title": title} if title else {})
    r = api.post("/api/v1/conversations", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_notification_arrives_live_with_unread_count(server, signup):
    alice, bob = signup("alice"), signup("bob")
    with Stream(server.url, alice.access) as stream:
        stream.ready()
        assert bob.post("/api/v1/users/alice/follow").status_code == 200
        event = stream.next("notification")
    assert isinstance(event["id"], int)
    note = event["payload"]["notification"]
    assert note["kind"] == "follow" and note["actor"]["username"] == "bob" and note["actor"]["is_ai"] is False
    assert event["payload"]["unread"] == 1


def test_reconnect_with_cursor_receives_what_was_missed(server, signup):
    alice, bob = signup("alice"), signup("bob")
    conv = _conversation(bob, "alice")
    with Stream(server.url, alice.access) as stream:
        stream.ready()
        bob.post(f"/api/v1/conversations/{conv}/messages", json={"body": "first"})
        first = stream.next("message")
    assert first["payload"]["message"]["body"] == "first"
    # offline: two more messages
    for body in ("second", "third"):
        assert bob.post(f"/api/v1/conversations/{conv}/messages", json={"body": body}).status_code == 201
    with Stream(server.url, alice.access, cursor=first["id"]) as stream:
        missed = [stream.next("message")["payload"]["message"]["body"] for _ in range(2)]
        ready = stream.ready()
        assert missed == ["second", "third"]
        assert ready["payload"]["cursor"] > first["id"]
        bob.post(f"/api/v1/conversations/{conv}/messages", json={"body": "live"})
        assert stream.next("message")["payload"]["message"]["body"] == "live"
    # without a cursor nothing old is replayed
    with Stream(server.url, alice.access) as stream:
        stream.ready()
        stream.nothing("message", wait=0.5)


def _refused(server, token=None, **kw):
    """The HTTP response that refused the handshake (InvalidStatus: no upgrade happened)."""
    with pytest.raises(InvalidStatus) as info:
        Stream(server.url, token, **kw)
    return info.value.response


def test_unauthenticated_handshake_is_refused_with_401(server, signup):
    alice = signup("alice")
    refusals = [
        _refused(server),
        _refused(server, "not-a-jwt"),
        _refused(server, alice.refresh),  # a refresh token is not an access token
        # a token in the URL is refused, even a valid one: URLs end up in access logs
        _refused(server, query=f"access_token={alice.access}"),
    ]
    for response in refusals:
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        body = json.loads(response.body)
        assert body["error"] == "unauthorized" and "Sec-WebSocket-Protocol" in body["detail"]
    # the token in the Sec-WebSocket-Protocol header: accepted, answered with smile.v1 only (never the token)
    with Stream(server.url, alice.access) as stream:
        assert stream.ready()["kind"] == "ready"
        assert stream.ws.subprotocol == "smile.v1"
    # or in an Authorization header (clients that can set one)
    with Stream(server.url, additional_headers={"Authorization": f"Bearer {alice.access}"}) as stream:
        assert stream.ready()["kind"] == "ready"
        assert stream.ws.subprotocol is None


def test_tokens_are_redacted_from_logs(server, signup):
    """The handshake line uvicorn logs, our access log and structlog events never show a token."""
    alice = signup("alice")
    handler = logging.getLogger().handlers[0]
    captured = io.StringIO()
    previous = handler.setStream(captured)
    try:
        _refused(server, query=f"access_token={alice.access}")
        _refused(server, "not-a-jwt.either", cursor=1, query="token=sekrit-value-1")
        alice.get(f"/api/v1/users/me?refresh_token={alice.refresh}")
        structlog.get_logger("smile.test").warning(
            "tokens_in_a_log_line",
            refresh_token=alice.refresh,
            header=f"Authorization: Bearer {alice.access}",
            note=f"client sent bearer.{alice.access}",
        )
    finally:
        handler.setStream(previous)
    text = captured.getvalue()
    assert "tokens_in_a_log_line" in text and "/api/v1/stream?access_token=" in text  # the lines were written
    for secret in (alice.access, alice.refresh, "sekrit-value-1", alice.access.split(".")[2]):
        assert secret not in text
    assert "access_token=[redacted]" in text and "token=[redacted]" in text
    assert "Bearer [redacted]" in text and "bearer.[redacted]" in text


def test_cookie_auth_needs_same_origin(server, signup):
    alice = signup("alice")
    r = alice.http.post(
        "/login", data={"login": "alice", "password": alice.password, "csrf_token": "x"}, cookies={"smile_csrf": "x"}
    )
    cookie = alice.http.cookies.get("smile_session")
    assert cookie, f"browser login did not set a session cookie ({r.status_code}): {r.text[:200]}"
    headers = {"Cookie": f"smile_session={cookie}"}
    with Stream(server.url, additional_headers=headers | {"Origin": server.url}) as stream:
        assert stream.ready()["kind"] == "ready"
    assert _refused(server, additional_headers=headers | {"Origin": "https://evil.example"}).status_code == 401
    assert _refused(server, additional_headers=headers).status_code == 401  # no Origin at all


def test_blocked_user_causes_no_events(server, signup):
    alice, bob = signup("alice"), signup("bob")
    conv = _conversation(bob, "alice")
    assert alice.post("/api/v1/users/bob/block").status_code == 204
    with Stream(server.url, alice.access) as stream:
        stream.ready()
        bob.post("/api/v1/users/alice/follow")
        bob.post(f"/api/v1/conversations/{conv}/messages", json={"body": "let me in"})
        bob_ws = Stream(server.url, bob.access)
        bob_ws.ready()
        bob_ws.send({"type": "typing", "conversation_id": conv})
        stream.nothing("notification", wait=0.5)
        stream.nothing("message", wait=0.2)
        stream.nothing("typing", wait=0.5)
        bob_ws.close()
    assert alice.get("/api/v1/notifications").json()["items"] == []


def test_direct_message_reaches_only_members(server, signup):
    alice, bob, eve = signup("alice"), signup("bob"), signup("eve")
    conv = _conversation(alice, "bob")
    with Stream(server.url, bob.access) as bob_ws, Stream(server.url, eve.access) as eve_ws:
        bob_ws.ready()
        eve_ws.ready()
        r = alice.post(f"/api/v1/conversations/{conv}/messages", json={"body": "just for bob"})
        event = bob_ws.next("message")
        assert event["payload"]["message"]["id"] == r.json()["id"]
        assert bob_ws.next("notification")["payload"]["notification"]["kind"] == "message"
        eve_ws.nothing("message", wait=0.7)
        assert not [m for m in eve_ws.received if m["kind"] not in ("ping", "pong", "ready")]


def test_typing_and_read_receipts_go_to_other_members(server, signup):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    conv = _conversation(alice, "bob", "carol", title="group")
    with (
        Stream(server.url, alice.access) as a,
        Stream(server.url, bob.access) as b,
        Stream(server.url, carol.access) as c,
    ):
        for s in (a, b, c):
            s.ready()
        a.send({"type": "typing", "conversation_id": conv})
        for s in (b, c):
            typing = s.next("typing")
            assert typing["id"] is None
            assert typing["payload"] == {"conversation_id": conv, "user": typing["payload"]["user"]}
            assert typing["payload"]["user"]["username"] == "alice"
        a.nothing("typing", wait=0.3)
        msg = alice.post(f"/api/v1/conversations/{conv}/messages", json={"body": "hi"}).json()
        b.next("message")
        bob.post(f"/api/v1/conversations/{conv}/read", json={"message_id": msg["id"]})
        read = a.next("read")
        assert read["payload"] == {"conversation_id": conv, "user_id": bob.user["id"], "message_id": msg["id"]}
        # typing in a conversation one is not a member of reaches nobody
        outsider = signup("eve")
        with Stream(server.url, outsider.access) as e:
            e.ready()
            e.send({"type": "typing", "conversation_id": conv})
            a.nothing("typing", wait=0.5)


def test_ping_pong_and_bad_cursor_is_refused_with_400(server, signup):
    alice = signup("alice")
    with Stream(server.url, alice.access) as stream:
        stream.ready()
        stream.send({"type": "ping"})
        stream.next("pong")
    refused = _refused(server, alice.access, cursor="abc")
    assert refused.status_code == 400 and json.loads(refused.body)["error"] == "invalid"


def test_large_event_batches_travel_as_references(server, signup):
    """A payload too big for NOTIFY travels as an id range, read back from stream_events by each process."""
    alice, bob = signup("alice"), signup("bob")
    conv = _conversation(bob, "alice")
    with Stream(server.url, alice.access) as stream:
        stream.ready()
        body = "x " * 2400  # > 7,000 bytes once in HTML and JSON
        assert bob.post(f"/api/v1/conversations/{conv}/messages", json={"body": body}).status_code == 201
        assert stream.next("message")["payload"]["message"]["body"] == body.strip()


def test_purge_drops_old_events(server, signup, db):
    from smile.kit import runtime
    from smile.social.realtime import service

    alice = signup("alice")
    db.execute(
        "INSERT INTO stream_events (user_id, kind, payload, created_at) VALUES "
        "(%s, 'post', '{}', now() - interval '8 days'), (%s, 'post', '{}', now())",
        (alice.user["id"], alice.user["id"]),
    )

    async def purge():
        async with runtime.current().db.session() as session:
            return await service.purge(session)

    assert server.call(purge()) == 1
    assert db.execute("SELECT count(*) FROM stream_events").fetchone()[0] == 1


def test_fan_out_to_many_recipients_reaches_each_connected_one(server, signup, db):
    """A "post" event to hundreds of followers (too big for one NOTIFY) still reaches a connected follower,
    and only the recipients: an account outside the list gets nothing."""
    from smile.kit import runtime
    from smile.social.realtime import service

    alice, outsider = signup("alice"), signup("outsider")
    rows = db.execute(
        "INSERT INTO users (id, email, username, display_name, account_type, roles, status, bio, links, location, "
        "language, timezone, is_private, who_can_message, discoverable_by_email, is_adult) "
        "SELECT gen_random_uuid(), 'f' || i || '@example.com', 'f' || i, 'F', 'person', '{user}', 'active', '', "
        "'[]', '', 'en', 'UTC', false, 'everyone', false, false FROM generate_series(1, 400) AS i RETURNING id"
    ).fetchall()
    followers = [r[0] for r in rows] + [alice.user["id"]]

    async def fan_out():
        async with runtime.current().db.session() as session:
            await service.emit(session, followers, "post", {"post_id": "p1", "author": "bob"})

    with Stream(server.url, alice.access) as a, Stream(server.url, outsider.access) as o:
        a.ready()
        o.ready()
        server.call(fan_out())
        assert a.next("post")["payload"] == {"post_id": "p1", "author": "bob"}
        o.nothing("post", wait=0.7)
    assert db.execute("SELECT count(*) FROM stream_events WHERE kind = 'post'").fetchone()[0] == 401


def test_catch_up_replays_more_than_one_page(server, signup, db):
    alice = signup("alice")
    db.execute(
        "INSERT INTO stream_events (user_id, kind, payload) "
        "SELECT %s, 'post', jsonb_build_object('n', i) FROM generate_series(1, 700) AS i",
        (alice.user["id"],),
    )
    with Stream(server.url, alice.access, cursor=0) as stream:
        got = [stream.next("post")["payload"]["n"] for _ in range(700)]
        ready = stream.ready()
    assert got == list(range(1, 701))
    assert ready["payload"]["truncated"] is False


def test_new_post_reaches_followers_home_stream_but_not_others(server, signup):
    author, reader, stranger = signup(), signup(), signup()
    assert reader.post(f"/api/v1/users/{author.user['username']}/follow").status_code == 200
    reader.get("/api/v1/timelines/home")  # an active reader gets posts fanned out
    with Stream(server.url, reader.access) as live, Stream(server.url, stranger.access) as other:
        live.ready()
        other.ready()
        r = author.post("/api/v1/posts", json={"body": "fresh news", "visibility": "public"})
        assert r.status_code == 201, r.text
        event = live.next("post", timeout=10)
        assert event["payload"]["post_id"] == r.json()["id"]
        assert event["payload"]["author"]["username"] == author.user["username"]
        assert "body" not in event["payload"]
        other.nothing("post", wait=1.0)


def test_fan_out_job_writes_entries_and_events_for_many_followers(server, signup, db):
    """A post by an account with more active followers than fit one NOTIFY: the job writes one timeline entry
    and one "post" event per follower (one statement), a connected follower gets it, a stranger does not,
    and running the job again adds nothing."""
    from smile.kit import runtime
    from smile.social.timelines import fanout
    from tests.social.test_timelines import wait_jobs

    author, reader, stranger = signup(), signup(), signup()
    assert reader.post(f"/api/v1/users/{author.user['username']}/follow").status_code == 200
    reader.get("/api/v1/timelines/home")
    crowd = [
        r[0]
        for r in db.execute(
            "INSERT INTO users (id, email, username, display_name, account_type, roles, status, bio, links, location, "
            "language, timezone, is_private, who_can_message, discoverable_by_email, is_adult) "
            "SELECT gen_random_uuid(), 'g' || i || '@example.com', 'g' || i, 'G', 'person', '{user}', 'active', '', "
            "'[]', '', 'en', 'UTC', false, 'everyone', false, false FROM generate_series(1, 60) AS i RETURNING id"
        ).fetchall()
    ]
    db.execute(
        "INSERT INTO follows (follower_id, followee_id, status, created_at) "
        "SELECT f, %s, 'accepted', now() FROM unnest(%s::uuid[]) AS f",
        (author.user["id"], crowd),
    )
    db.execute(
        "INSERT INTO social_activity (user_id, last_active_at, timeline_built_at) "
        "SELECT u, now(), now() FROM unnest(%s::uuid[]) AS u",
        (crowd,),
    )
    with Stream(server.url, reader.access) as live, Stream(server.url, stranger.access) as other:
        live.ready()
        other.ready()
        r = author.post("/api/v1/posts", json={"body": "to the crowd"})
        assert r.status_code == 201, r.text
        post_id = r.json()["id"]
        event = live.next("post", timeout=10)
        assert event["payload"]["post_id"] == post_id
        assert event["payload"]["author"]["username"] == author.user["username"]
        other.nothing("post", wait=1.0)
    wait_jobs(db)

    def written() -> tuple[int, int, int]:
        return db.execute(
            "SELECT (SELECT count(*) FROM timeline_entries WHERE post_id = %(p)s), "
            "(SELECT count(*) FROM stream_events WHERE kind = 'post' AND payload->>'post_id' = %(p)s::text), "
            "(SELECT count(DISTINCT user_id) FROM stream_events WHERE kind = 'post')",
            {"p": post_id},
        ).fetchone()

    assert written() == (62, 61, 61)  # 61 followers' entries and the author's own; one event per follower

    async def again():
        async with runtime.current().db.session() as session:
            return await fanout.fan_out_now(session, uuid.UUID(post_id))

    assert server.call(again()) == 0
    assert written() == (62, 61, 61)
