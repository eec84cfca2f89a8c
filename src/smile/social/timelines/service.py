"""Timelines: home (fan-out on write + merge on read), profile, hashtag and explore.

Every read filters with smile.social.visibility; home also drops muted accounts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import User
from smile.kit.db import utcnow
from smile.kit.errors import Invalid, NotFound
from smile.kit.pagination import keyset, page_of
from smile.social import visibility
from smile.social.graph import service as graph
from smile.social.models import Follow, Media, Post, PostHashtag, Reaction, TimelineEntry
from smile.social.posts.views import present
from smile.social.timelines import fanout
from smile.social.timelines.fanout import backfill, fan_out, rebuild, remove_between  # noqa: F401  (public API)
from smile.social.timelines.schemas import Timeline
from smile.social.visibility import Author

LARGE_TTL = 30.0  # seconds the set of over-threshold accounts is cached per process
EXPLORE_HOURS = 48
EXPLORE_MAX = 200
_large: dict[int, tuple[float, frozenset[uuid.UUID]]] = {}
_large_lock = asyncio.Lock()


async def large_accounts(db: AsyncSession) -> frozenset[uuid.UUID]:
    """Accounts with more followers than the fan-out threshold (their posts are merged on read)."""
    threshold = fanout.settings().social_fanout_max_followers
    cached = _large.get(threshold)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    async with _large_lock:
        cached = _large.get(threshold)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        ids = frozenset(await db.scalars(
            select(Follow.followee_id).where(Follow.status == "accepted")
            .group_by(Follow.followee_id).having(func.count() > threshold)))
        _large[threshold] = (time.monotonic() + LARGE_TTL, ids)
        return ids


def _not_muted(viewer_id: uuid.UUID):
    return ~visibility.muted_by(viewer_id, Post.author_id)


async def home(db: AsyncSession, viewer: User, cursor: str | None, limit: int) -> Timeline:
    """Own and followed accounts' posts, newest first."""
    if await fanout.touch(db, viewer.id):
        await fanout.rebuild(db, viewer.id)
    stmt = (select(Post).select_from(TimelineEntry)
            .join(Post, Post.id == TimelineEntry.post_id).join(Author, Author.id == Post.author_id)
            .where(TimelineEntry.user_id == viewer.id, visibility.post_visible(viewer.id), _not_muted(viewer.id)))
    rows = list(await db.scalars(keyset(stmt, TimelineEntry.post_id, cursor, limit)))
    large = await large_accounts(db)
    if large:
        followed_large = list(await db.scalars(select(Follow.followee_id).where(
            Follow.follower_id == viewer.id, Follow.status == "accepted", Follow.followee_id.in_(large))))
        if followed_large:
            merged = visibility.visible_posts(viewer.id).where(
                Post.author_id.in_(followed_large), Post.visibility != "mentioned", _not_muted(viewer.id))
            extra = list(await db.scalars(keyset(merged, Post.id, cursor, limit)))
            unique = {p.id: p for p in rows + extra}
            rows = sorted(unique.values(), key=lambda p: p.id, reverse=True)[:limit + 1]
    return await _timeline(db, viewer.id, rows, limit)


async def _timeline(db: AsyncSession, viewer_id: uuid.UUID | None, rows: list[Post], limit: int,
                    pinned: list[Post] = ()) -> Timeline:
    posts, next_cursor = page_of(rows, limit)
    return Timeline(items=await present(db, viewer_id, list(pinned) + posts), next_cursor=next_cursor)


async def profile(db: AsyncSession, viewer_id: uuid.UUID | None, username: str, cursor: str | None, limit: int,
                  tab: str = "posts") -> Timeline:
    """An author's posts the viewer may see; pinned ones first on the first page."""
    user = await graph.find_account(db, username, viewer_id)
    base = visibility.visible_posts(viewer_id).where(Post.author_id == user.id)
    if tab == "likes":
        if not await graph.can_see_network(db, viewer_id, user):
            return Timeline(items=[], next_cursor=None)
        base = visibility.visible_posts(viewer_id).where(
            exists().where(Reaction.post_id == Post.id, Reaction.user_id == user.id))
    elif tab == "media":
        base = base.where(exists().where(Media.post_id == Post.id))
    elif tab != "posts":
        raise Invalid("Unknown tab; use posts, media or likes.", fields={"tab": "invalid"})
    pinned: list[Post] = []
    if tab == "posts":
        if not cursor:
            pinned = list(await db.scalars(base.where(Post.pinned_at.is_not(None)).order_by(Post.pinned_at.desc())))
        base = base.where(Post.pinned_at.is_(None))
    rows = list(await db.scalars(keyset(base, Post.id, cursor, limit)))
    return await _timeline(db, viewer_id, rows, limit, pinned)


async def tag(db: AsyncSession, viewer_id: uuid.UUID | None, name: str, cursor: str | None, limit: int) -> Timeline:
    name = name.lstrip("#").lower()[:100]
    if not name:
        raise NotFound("No such hashtag.")
    stmt = visibility.visible_posts(viewer_id).join(PostHashtag, and_(
        PostHashtag.post_id == Post.id, PostHashtag.tag == name))
    if viewer_id:
        stmt = stmt.where(_not_muted(viewer_id))
    rows = list(await db.scalars(keyset(stmt, PostHashtag.post_id, cursor, limit)))
    return await _timeline(db, viewer_id, rows, limit)


def _min_id(since: dt.datetime) -> uuid.UUID:
    """The smallest UUIDv7 created at `since` (ids are time-sortable)."""
    ms = int(since.timestamp() * 1000)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76))


async def explore(db: AsyncSession, viewer_id: uuid.UUID | None, cursor: str | None, limit: int) -> Timeline:
    """Popular public posts of the last 48 hours: engagement with time decay; cursor is an offset, bounded."""
    try:
        offset = int(cursor) if cursor else 0
    except ValueError:
        raise Invalid("The cursor is not valid; use next_cursor from a previous page.", fields={"cursor": "invalid"})
    if offset < 0 or offset >= EXPLORE_MAX:
        return Timeline(items=[], next_cursor=None)
    age_hours = func.extract("epoch", func.now() - Post.created_at) / 3600.0
    score = (Post.reactions_count + 2 * Post.comments_count + 3 * Post.reposts_count + 1) / func.power(age_hours + 2, 1.5)
    stmt = (visibility.visible_posts(viewer_id)
            .where(Post.visibility == "public", Post.status == "visible", Post.deleted_at.is_(None),
                   Post.repost_of_id.is_(None), Post.id >= _min_id(utcnow() - dt.timedelta(hours=EXPLORE_HOURS)))
            .order_by(score.desc(), Post.id.desc()).offset(offset).limit(min(limit, EXPLORE_MAX - offset) + 1))
    if viewer_id:
        stmt = stmt.where(_not_muted(viewer_id))
    rows = list(await db.scalars(stmt))
    more = len(rows) > limit and offset + limit < EXPLORE_MAX
    posts = rows[:limit]
    return Timeline(items=await present(db, viewer_id, posts), next_cursor=str(offset + limit) if more else None)

