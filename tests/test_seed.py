"""The demo seed (`smile seed`), run as a subprocess on the test database: what it creates, that a second
run changes nothing, that the ledger verifies, and what demo001 (the newcomer's account) sees over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from smile.seed import DEMO_PASSWORD

# Tables the job worker of a running test server writes on its own (fan-out, catch-up events, its queue).
WORKER_TABLES = {"timeline_entries", "stream_events", "social_activity"}


@pytest.fixture
def seed(tmp_path, dsn):
    """Run `smile ARGS` on the test database with one data dir for every call; returns (code, output, dir)."""
    data_dir = tmp_path / "var"

    def run(*args: str) -> tuple[int, str, Path]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMILE_")}
        env.update(
            COLUMNS="120", PYTHONIOENCODING="utf-8", NO_COLOR="1", SMILE_DATA_DIR=str(data_dir), SMILE_DATABASE_URL=dsn
        )
        proc = subprocess.run(
            [sys.executable, "-m", "smile.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
        )
        return proc.returncode, proc.stdout + proc.stderr, data_dir

    return run


def _snapshot(conn: psycopg.Connection) -> dict[str, object]:
    """Row counts of every table (but the worker's), and the sums that money and counters live in."""
    tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    shot: dict[str, object] = {
        t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
        for t in tables
        if t not in WORKER_TABLES and not t.startswith("procrastinate")
    }
    shot["balances"] = conn.execute("SELECT sum(abs(balance)), sum(balance) FROM ledger_accounts").fetchone()
    shot["post counters"] = conn.execute(
        "SELECT sum(reactions_count), sum(comments_count), sum(reposts_count) FROM posts"
    ).fetchone()
    shot["unread"] = conn.execute("SELECT count(*) FROM notifications WHERE read_at IS NULL").fetchone()[0]
    return shot


def _one(conn, sql: str, *params):
    return conn.execute(sql, params or None).fetchone()[0]


@pytest.mark.timeout(1200)
def test_demo_seed_fills_the_product_once(seed, db, request):
    code, out, data_dir = seed("seed")
    assert code == 0, out
    assert "Created 41 demo account(s)" in out and "Posts, pictures and polls" in out  # the progress bar
    first = _snapshot(db)

    code, out, _ = seed("seed")
    assert code == 0, out
    assert "Created 0 demo account(s)" in out
    assert _snapshot(db) == first  # a second run changes nothing

    code, out, _ = seed("ledger", "verify")
    assert code == 0 and "FAIL" not in out, out

    newcomer = _one(db, "SELECT id FROM users WHERE username = 'demo001'")
    # people who follow each other
    assert _one(db, "SELECT count(*) FROM users WHERE username LIKE 'demo%'") == 41
    assert _one(db, "SELECT count(*) FROM follows WHERE follower_id = %s", newcomer) == 15
    assert _one(db, "SELECT count(*) FROM follows WHERE followee_id = %s", newcomer) >= 15
    assert (
        _one(
            db,
            "SELECT count(*) FROM follows f JOIN follows b ON b.follower_id = f.followee_id "
            "AND b.followee_id = f.follower_id",
        )
        > 0
    )
    assert _one(db, "SELECT min(n) FROM (SELECT count(*) n FROM follows GROUP BY follower_id) x") >= 4
    assert _one(db, "SELECT count(*) FROM users WHERE avatar_key IS NULL AND account_type = 'person'") == 0
    # AI agents that have posted and answered the newcomer
    assert _one(db, "SELECT count(*) FROM agents") >= 8
    assert (
        _one(
            db,
            "SELECT count(*) FROM posts p JOIN users u ON u.id = p.author_id "
            "WHERE u.account_type = 'ai_agent' AND p.generated_by IS NOT NULL",
        )
        >= 8
    )
    assert (
        _one(
            db,
            "SELECT count(*) FROM messages m JOIN users u ON u.id = m.sender_id JOIN conversation_members c "
            "ON c.conversation_id = m.conversation_id AND c.user_id = %s WHERE u.account_type = 'ai_agent'",
            newcomer,
        )
        >= 1
    )
    # a few hundred posts, with pictures stored through media storage, polls, comments and reactions
    assert _one(db, "SELECT count(*) FROM posts") >= 250
    media = db.execute("SELECT storage_key, thumb_key FROM media WHERE post_id IS NOT NULL").fetchall()
    assert len(media) >= 20
    assert all((data_dir / "media" / key).is_file() and (data_dir / "media" / thumb).is_file() for key, thumb in media)
    assert _one(db, "SELECT count(*) FROM polls") >= 5
    assert (
        _one(
            db,
            "SELECT min(n) FROM (SELECT count(v.user_id) n FROM polls p "
            "LEFT JOIN poll_votes v ON v.post_id = p.post_id GROUP BY p.post_id) x",
        )
        > 0
    )
    assert _one(db, "SELECT count(*) FROM comments") >= 50
    assert _one(db, "SELECT count(*) FROM comments WHERE parent_id IS NOT NULL") > 0
    assert _one(db, "SELECT count(*) FROM reactions") >= 200
    assert _one(db, "SELECT count(*) FROM posts WHERE repost_of_id IS NOT NULL OR quote_of_id IS NOT NULL") > 0
    # the counters the services keep agree with the rows
    assert (
        _one(
            db,
            "SELECT count(*) FROM posts p WHERE reactions_count <> "
            "(SELECT count(*) FROM reactions r WHERE r.post_id = p.id)",
        )
        == 0
    )
    assert (
        _one(
            db,
            "SELECT count(*) FROM posts p WHERE comments_count <> "
            "(SELECT count(*) FROM comments c WHERE c.post_id = p.id)",
        )
        == 0
    )
    # the newcomer: unread notifications of several kinds, conversations with unread messages
    kinds = {
        r[0]
        for r in db.execute(
            "SELECT DISTINCT kind FROM notifications WHERE user_id = %s AND read_at IS NULL", (newcomer,)
        )
    }
    assert {"follow", "reaction", "comment", "message"} <= kinds
    # funded wallets with history; a subscription; a sale with earnings; an API key with usage
    assert (
        _one(
            db,
            "SELECT count(*) FROM ledger_accounts a JOIN users u ON u.id = a.owner_id "
            "WHERE a.purpose = 'wallet' AND a.balance > 0 AND u.username LIKE 'demo0%'",
        )
        == 40
    )
    assert _one(db, "SELECT count(*) FROM payments WHERE status = 'paid' AND purpose = 'credits'") == 41
    assert _one(db, "SELECT count(*) FROM subscriptions WHERE user_id = %s AND status = 'active'", newcomer) == 1
    assert _one(db, "SELECT count(*) FROM sales WHERE seller_id = %s AND status = 'released'", newcomer) == 1
    assert _one(db, "SELECT count(*) FROM sales WHERE buyer_id = %s AND status = 'escrow'", newcomer) == 1
    assert _one(db, "SELECT balance FROM ledger_accounts WHERE owner_id = %s AND purpose = 'earnings'", newcomer) > 0
    assert _one(db, "SELECT spent_credits FROM hub_api_keys WHERE user_id = %s", newcomer) > 0
    assert (
        _one(
            db, "SELECT count(*) FROM ai_usage WHERE user_id = %s AND api_key_id IS NOT NULL AND credits > 0", newcomer
        )
        == 5
    )

    # what the newcomer sees, over HTTP
    from tests.support import Api

    api = Api(request.getfixturevalue("server").url)
    r = api.post("/api/v1/auth/login", json={"login": "demo001", "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    api.access = r.json()["access_token"]
    home = api.get("/api/v1/timelines/home", params={"limit": 40}).json()["items"]
    assert len({p["author"]["username"] for p in home}) >= 8  # many people, not just oneself
    assert any(p["media"] for p in home) and any(p["counts"]["reactions"] for p in home)
    notes = api.get("/api/v1/notifications").json()
    assert notes["unread"] >= 20
    chats = api.get("/api/v1/conversations").json()["items"]
    assert len(chats) >= 5 and sum(c["unread"] > 0 for c in chats) >= 3
    wallet = api.get("/api/v1/billing/credits/wallet").json()
    assert wallet["available"] > 1000
    kinds = {line["kind"] for line in api.get("/api/v1/billing/credits/wallet/history").json()["items"]}
    assert {"credit_purchase", "sale"} <= kinds
    api.close()
