"""Timelines: home (fan-out on write + merge on read), profile, hashtag and explore.

Every read filters with smile.social.visibility; home also drops muted accounts.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid

from sqlalchemy import and_, bindparam, exists, func, select, true, union
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import User
from smile.kit.db import utcnow
from smile.kit.errors import Invalid, NotFound
from smile.kit.pagination import decode_cursor, keyset, page_of
from smile.social import visibility
from smile.social.graph import service as graph
from smile.social.models import (
    Follow,
    Media,
    Post,
    PostHashtag,
    Reaction,
    SocialActivity,
    SocialCounts,
    TimelineEntry,
)
from smile.social.posts import views
from smile.social.posts.views import present
from smile.social.timelines import fanout
from smile.social.timelines.fanout import backfill, fan_out, rebuild, remove_between  # noqa: F401  (public API)
from smile.social.timelines.schemas import Timeline
from smile.social.visibility import Author

EXPLORE_HOURS = 48
EXPLORE_MAX = 200
NEWEST = uuid.UUID(int=(1 << 128) - 1)  # keyset start: every id is below it


def _not_muted(viewer_id):
    return ~visibility.muted_by(viewer_id, Post.author_id)


@functools.cache
def _home_statement():
    """The home page in one statement, built once (bind parameters: viewer, before, fetch, threshold).

    Page ids: the viewer's fanned-out entries, plus the newest posts of followed accounts above the
    fan-out threshold (stored follower counts; merged on read), deduplicated, newest first; then
    each post with its author and per-post columns (smile.social.posts.views), and the viewer's
    activity row (whether the timeline needs a rebuild), so a read is one round trip.
    """
    viewer, before, fetch = views.VIEWER, bindparam("before", type_=PG_UUID(as_uuid=True)), bindparam("fetch")
    entries = (
        select(TimelineEntry.post_id.label("id"))
        .select_from(TimelineEntry)
        .join(Post, Post.id == TimelineEntry.post_id)
        .join(Author, Author.id == Post.author_id)
        .where(
            TimelineEntry.user_id == viewer,
            TimelineEntry.post_id < before,
            visibility.post_visible(viewer),
            _not_muted(viewer),
        )
        .order_by(TimelineEntry.post_id.desc())
        .limit(fetch)
    )
    large = (
        select(Follow.followee_id)
        .join(SocialCounts, SocialCounts.user_id == Follow.followee_id)
        .where(
            Follow.follower_id == viewer, Follow.status == "accepted", SocialCounts.followers > bindparam("threshold")
        )
        .subquery("large")
    )
    newest = (
        select(Post.id)
        .join(Author, Author.id == Post.author_id)
        .where(
            Post.author_id == large.c.followee_id,
            Post.id < before,
            Post.visibility != "mentioned",
            visibility.post_visible(viewer),
            _not_muted(viewer),
        )
        .order_by(Post.id.desc())
        .limit(fetch)
        .lateral("newest")
    )
    merged = select(newest.c.id).select_from(large).join(newest, true())
    ids = union(entries, merged).subquery("candidates")
    page = select(ids.c.id).order_by(ids.c.id.desc()).limit(fetch).subquery("page")
    seen = [
        select(column).where(SocialActivity.user_id == viewer).scalar_subquery().label(column.key)
        for column in (SocialActivity.last_active_at, SocialActivity.timeline_built_at)
    ]
    return (
        select(*views.page_columns(), *seen)
        .select_from(page)
        .join(Post, Post.id == page.c.id)
        .join(Author, Author.id == Post.author_id)
        .order_by(Post.id.desc())
    )


async def home(db: AsyncSession, viewer: User, cursor: str | None, limit: int) -> Timeline:
    """Own and followed accounts' posts, newest first."""
    params = {
        "viewer": viewer.id,
        "before": decode_cursor(cursor) if cursor else NEWEST,
        "fetch": limit + 1,
        "threshold": fanout.settings().social_fanout_max_followers,
    }
    connection = await db.connection()  # the session's; Core execution skips the ORM's per-row work
    rows = (await connection.execute(_home_statement(), params)).all()
    seen = (rows[0].last_active_at, rows[0].timeline_built_at) if rows else await fanout.activity(db, viewer.id)
    if await fanout.record_read(db, viewer.id, *seen):  # rebuilt: read again
        rows = (await connection.execute(_home_statement(), params)).all()
    posts, next_cursor = page_of(rows, limit)
    return Timeline(items=await views.present_rows(db, viewer.id, posts), next_cursor=next_cursor)


async def _timeline(
    db: AsyncSession, viewer_id: uuid.UUID | None, rows: list[Post], limit: int, pinned: list[Post] = ()
) -> Timeline:
    posts, next_cursor = page_of(rows, limit)
    return Timeline(items=await present(db, viewer_id, list(pinned) + posts), next_cursor=next_cursor)


async def profile(
    db: AsyncSession, viewer_id: uuid.UUID | None, username: str, cursor: str | None, limit: int, tab: str = "posts"
) -> Timeline:
    """An author's posts the viewer may see; pinned ones first on the first page."""
    user = await graph.find_account(db, username, viewer_id)
    base = visibility.visible_posts(viewer_id).where(Post.author_id == user.id)
    if tab == "likes":
        if not await graph.can_see_network(db, viewer_id, user):
            return Timeline(items=[], next_cursor=None)
        base = visibility.visible_posts(viewer_id).where(
            exists().where(Reaction.post_id == Post.id, Reaction.user_id == user.id)
        )
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
    stmt = visibility.visible_posts(viewer_id).join(
        PostHashtag, and_(PostHashtag.post_id == Post.id, PostHashtag.tag == name)
    )
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
        raise Invalid(
            "The cursor is not valid; use next_cursor from a previous page.", fields={"cursor": "invalid"}
        ) from None
    if offset < 0 or offset >= EXPLORE_MAX:
        return Timeline(items=[], next_cursor=None)
    age_hours = func.extract("epoch", func.now() - Post.created_at) / 3600.0
    score = (Post.reactions_count + 2 * Post.comments_count + 3 * Post.reposts_count + 1) / func.power(
        age_hours + 2, 1.5
    )
    stmt = (
        visibility.visible_posts(viewer_id)
        .where(
            Post.visibility == "public",
            Post.status == "visible",
            Post.deleted_at.is_(None),
            Post.repost_of_id.is_(None),
            Post.id >= _min_id(utcnow() - dt.timedelta(hours=EXPLORE_HOURS)),
        )
        .order_by(score.desc(), Post.id.desc())
        .offset(offset)
        .limit(min(limit, EXPLORE_MAX - offset) + 1)
    )
    if viewer_id:
        stmt = stmt.where(_not_muted(viewer_id))
    rows = list(await db.scalars(stmt))
    more = len(rows) > limit and offset + limit < EXPLORE_MAX
    posts = rows[:limit]
    return Timeline(items=await present(db, viewer_id, posts), next_cursor=str(offset + limit) if more else None)
