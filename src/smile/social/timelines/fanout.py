"""Fan-out on write: copy a post id into the home timelines of its audience.

Followers active in the last `social_fanout_active_days` get an entry; accounts with more
than `social_fanout_max_followers` followers are not fanned out (their posts are merged on
read); inactive people get their timeline rebuilt when they come back.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from smile.kit import jobs, runtime
from smile.kit.db import utcnow
from smile.social.models import Post, SocialActivity, SocialCounts

REBUILD_LIMIT = 500

_FOLLOWERS_SQL = """
INSERT INTO timeline_entries (user_id, post_id, author_id)
SELECT f.follower_id, :post_id, :author_id
FROM follows f JOIN social_activity a ON a.user_id = f.follower_id
WHERE f.followee_id = :author_id AND f.status = 'accepted' AND a.last_active_at > :since
  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = f.follower_id AND b.blocked_id = :author_id)
                  OR (b.blocker_id = :author_id AND b.blocked_id = f.follower_id))
ON CONFLICT DO NOTHING
RETURNING user_id
"""

_MENTIONED_SQL = """
INSERT INTO timeline_entries (user_id, post_id, author_id)
SELECT m.user_id, :post_id, :author_id FROM post_mentions m
WHERE m.post_id = :post_id AND m.user_id <> :author_id
  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = m.user_id AND b.blocked_id = :author_id)
                  OR (b.blocker_id = :author_id AND b.blocked_id = m.user_id))
ON CONFLICT DO NOTHING
RETURNING user_id
"""

_OWN_SQL = """
INSERT INTO timeline_entries (user_id, post_id, author_id) VALUES (:author_id, :post_id, :author_id)
ON CONFLICT DO NOTHING
"""


def settings():
    return runtime.current().settings


def active_since() -> dt.datetime:
    return utcnow() - dt.timedelta(days=settings().social_fanout_active_days)


async def follower_count(db: AsyncSession, user_id: uuid.UUID) -> int:
    """Accepted followers, from the count the follows trigger keeps (an index lookup)."""
    return await db.scalar(select(SocialCounts.followers).where(SocialCounts.user_id == user_id)) or 0


async def is_large(db: AsyncSession, user_id: uuid.UUID) -> bool:
    return await follower_count(db, user_id) > settings().social_fanout_max_followers


async def fan_out(db: AsyncSession, post: Post) -> None:
    """Put the post in its author's timeline now and defer the fan-out to the audience.

    Call it in the transaction that creates (or approves) the post.
    """
    from smile.social.timelines import tasks

    await db.execute(text(_OWN_SQL), {"post_id": post.id, "author_id": post.author_id})
    if post.status == "visible" and post.deleted_at is None:
        await jobs.defer(db, tasks.fan_out_post, post_id=str(post.id))


async def fan_out_now(db: AsyncSession, post_id: uuid.UUID) -> int:
    """The job's work; idempotent. Returns the number of entries inserted.

    The timeline entries and the readers' "post" stream events are written by one statement
    (INSERT … RETURNING feeding INSERT … SELECT), however many followers there are.
    """
    post = await db.get(Post, post_id)
    if post is None or post.status != "visible" or post.deleted_at is not None:
        return 0
    params = {"post_id": post.id, "author_id": post.author_id}
    await db.execute(text(_OWN_SQL), params)
    if post.visibility == "mentioned":
        readers = _MENTIONED_SQL
    elif await is_large(db, post.author_id):
        return 0
    else:
        readers, params = _FOLLOWERS_SQL, {**params, "since": active_since()}
    return await _announce(db, post, readers, params)


async def _announce(db: AsyncSession, post: Post, readers: str, params: dict) -> int:
    """Insert the entries and tell connected readers a post arrived in their home timeline (no body:
    they fetch it)."""
    from smile.identity.models import User
    from smile.social.realtime import service as realtime
    from smile.social.schemas import AuthorOut

    author = await db.get(User, post.author_id)
    return await realtime.emit_to(
        db, readers, params, "post", {"post_id": post.id, "author": AuthorOut.of(author).model_dump(mode="json")}
    )


_REBUILD_SQL = text("""
INSERT INTO timeline_entries (user_id, post_id, author_id)
SELECT :user_id, p.id, p.author_id FROM (
  SELECT id, author_id FROM posts WHERE author_id = :user_id AND deleted_at IS NULL
  UNION ALL
  SELECT p.id, p.author_id FROM follows f
  CROSS JOIN LATERAL (SELECT id, author_id FROM posts
                      WHERE author_id = f.followee_id AND deleted_at IS NULL AND status = 'visible'
                        AND visibility <> 'mentioned'
                      ORDER BY id DESC LIMIT :limit) p
  WHERE f.follower_id = :user_id AND f.status = 'accepted'
  UNION ALL
  SELECT p.id, p.author_id FROM post_mentions m JOIN posts p ON p.id = m.post_id
  WHERE m.user_id = :user_id AND p.deleted_at IS NULL AND p.status = 'visible'
) p
ORDER BY p.id DESC LIMIT :limit
ON CONFLICT DO NOTHING
""")


async def rebuild(db: AsyncSession, user_id: uuid.UUID) -> None:
    """Refill a returning person's timeline from whom they follow (bounded to the last posts)."""
    await db.execute(_REBUILD_SQL, {"user_id": user_id, "limit": REBUILD_LIMIT})
    await db.execute(
        text("""
        INSERT INTO social_activity (user_id, last_active_at, timeline_built_at) VALUES (:u, now(), now())
        ON CONFLICT (user_id) DO UPDATE SET last_active_at = now(), timeline_built_at = now()"""),
        {"u": user_id},
    )


async def backfill(db: AsyncSession, follower_id: uuid.UUID, followee_id: uuid.UUID, limit: int = 50) -> None:
    """After a new follow: copy the followee's recent posts into the follower's timeline."""
    await db.execute(
        text("""
        INSERT INTO timeline_entries (user_id, post_id, author_id)
        SELECT :f, id, author_id FROM posts
        WHERE author_id = :a AND deleted_at IS NULL AND status = 'visible' AND visibility <> 'mentioned'
        ORDER BY id DESC LIMIT :limit
        ON CONFLICT DO NOTHING"""),
        {"f": follower_id, "a": followee_id, "limit": limit},
    )


async def remove_between(db: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> None:
    """Drop each one's posts from the other's timeline (after a block or an unfollow)."""
    await db.execute(
        text("""
        DELETE FROM timeline_entries WHERE (user_id = :a AND author_id = :b) OR (user_id = :b AND author_id = :a)"""),
        {"a": a, "b": b},
    )


async def remove_following(db: AsyncSession, follower_id: uuid.UUID, author_id: uuid.UUID) -> None:
    """After an unfollow: drop the author's posts from the follower's timeline."""
    await db.execute(
        text("DELETE FROM timeline_entries WHERE user_id = :f AND author_id = :a"), {"f": follower_id, "a": author_id}
    )


async def activity(db: AsyncSession, user_id: uuid.UUID) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(last_active_at, timeline_built_at) of a reader; (None, None) before their first read."""
    row = (
        await db.execute(
            select(SocialActivity.last_active_at, SocialActivity.timeline_built_at).where(
                SocialActivity.user_id == user_id
            )
        )
    ).first()
    return (row.last_active_at, row.timeline_built_at) if row else (None, None)


async def record_read(
    db: AsyncSession, user_id: uuid.UUID, last_active_at: dt.datetime | None, timeline_built_at: dt.datetime | None
) -> bool:
    """Record a home read given the reader's activity row: rebuild the timeline if they missed fan-outs
    while away (returns True), else refresh last_active_at (at most every few minutes)."""
    since = active_since()
    if last_active_at is None or timeline_built_at is None or timeline_built_at < since or last_active_at < since:
        await rebuild(db, user_id)
        return True
    if last_active_at < utcnow() - dt.timedelta(minutes=3):
        await db.execute(text("UPDATE social_activity SET last_active_at = now() WHERE user_id = :u"), {"u": user_id})
    return False
