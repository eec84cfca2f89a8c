"""Search: people (pg_trgm fuzzy), posts (full-text with ranking), hashtags (prefix).

Results are ranked, so pages use a bounded offset (an opaque cursor) rather than keyset.
Every path filters through smile.social.visibility: accounts with `account_visible`, posts
with `post_visible`, hashtag counts over public posts only.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import User
from smile.kit.db import utcnow
from smile.kit.errors import Invalid
from smile.kit.pagination import Page
from smile.social import visibility
from smile.social.models import Post, PostHashtag
from smile.social.posts.schemas import PostOut
from smile.social.posts.views import present
from smile.social.search.schemas import HashtagOut, PersonOut
from smile.social.visibility import Author

MAX_QUERY = 200
MAX_OFFSET = 1000
TAG_WINDOW_DAYS = 90


def clean_query(q: str | None) -> str:
    q = " ".join((q or "").split())
    if not q:
        raise Invalid("Type something to search for.", fields={"q": "required"})
    if len(q) > MAX_QUERY:
        raise Invalid(f"Search for at most {MAX_QUERY} characters.", fields={"q": "too_long"})
    return q


def decode_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit() or int(cursor) > MAX_OFFSET:
        raise Invalid("The cursor is not valid; use next_cursor from a previous page.", fields={"cursor": "invalid"})
    return int(cursor)


def next_cursor(rows: list, offset: int, limit: int) -> tuple[list, str | None]:
    if len(rows) > limit and offset + limit < MAX_OFFSET:
        return rows[:limit], str(offset + limit)
    return rows[:limit], None


def _like_prefix(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def people(
    db: AsyncSession, viewer_id: uuid.UUID | None, q: str, cursor: str | None, limit: int
) -> tuple[list[User], str | None]:
    """Accounts whose username or display name matches `q`: exact prefix first, then by similarity."""
    q = clean_query(q).lstrip("@") or q
    offset = decode_offset(cursor)
    prefix = _like_prefix(q)
    is_prefix = or_(User.username.ilike(prefix), User.display_name.ilike(prefix))
    score = func.greatest(func.similarity(User.username, q), func.word_similarity(q, User.display_name))
    stmt = (
        select(User)
        .where(
            visibility.account_visible(viewer_id),
            or_(
                is_prefix,
                User.username.op("%")(q),  # trigram similarity over the threshold (ix_users_username_trgm)
                literal(q).op("<%")(User.display_name),  # word similarity (ix_users_display_name_trgm)
            ),
        )
        .order_by(
            case((func.lower(User.username) == q.lower(), 0), else_=1),
            case((is_prefix, 0), else_=1),
            score.desc(),
            User.username,
        )
        .offset(offset)
        .limit(limit + 1)
    )
    rows = list(await db.scalars(stmt))
    return next_cursor(rows, offset, limit)


async def posts(
    db: AsyncSession, viewer_id: uuid.UUID | None, q: str, cursor: str | None, limit: int
) -> tuple[list[Post], str | None]:
    """Posts matching `q` (websearch syntax: words, "phrases", -exclusions, or), best first."""
    q = clean_query(q)
    offset = decode_offset(cursor)
    query = func.websearch_to_tsquery("simple", q)
    rank = func.ts_rank(Post.search, query)
    stmt = (
        visibility.visible_posts(viewer_id)
        .where(
            Post.search.op("@@")(query), Post.repost_of_id.is_(None), ~visibility.muted_by(viewer_id, Post.author_id)
        )
        .order_by(rank.desc(), Post.id.desc())
        .offset(offset)
        .limit(limit + 1)
    )
    rows = list(await db.scalars(stmt))
    return next_cursor(rows, offset, limit)


async def hashtags(db: AsyncSession, q: str, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Tags starting with `q`, with how many recent public posts use them."""
    tag = clean_query(q).lstrip("#").lower()
    if not tag:
        raise Invalid("Type a hashtag to search for.", fields={"q": "required"})
    offset = decode_offset(cursor)
    since = utcnow() - dt.timedelta(days=TAG_WINDOW_DAYS)
    count = func.count(PostHashtag.post_id)
    stmt = (
        select(PostHashtag.tag, count.label("posts"))
        .join(Post, Post.id == PostHashtag.post_id)
        .join(Author, Author.id == Post.author_id)
        .where(
            PostHashtag.tag.like(_like_prefix(tag)), Post.created_at >= since, visibility.post_visible(None)
        )  # counts over public posts only: never reveal private tags
        .group_by(PostHashtag.tag)
        .order_by(case((PostHashtag.tag == tag, 0), else_=1), count.desc(), PostHashtag.tag)
        .offset(offset)
        .limit(limit + 1)
    )
    rows = [{"tag": t, "posts": n, "url": f"/tags/{t}"} for t, n in (await db.execute(stmt)).all()]
    return next_cursor(rows, offset, limit)


# Presented pages for the API and the HTML page


async def people_page(
    db: AsyncSession, viewer_id: uuid.UUID | None, q: str, cursor: str | None, limit: int
) -> Page[PersonOut]:
    rows, after = await people(db, viewer_id, q, cursor, limit)
    return Page[PersonOut](items=[PersonOut.of(u) for u in rows], next_cursor=after)


async def posts_page(
    db: AsyncSession, viewer_id: uuid.UUID | None, q: str, cursor: str | None, limit: int
) -> Page[PostOut]:
    rows, after = await posts(db, viewer_id, q, cursor, limit)
    return Page[PostOut](items=await present(db, viewer_id, rows), next_cursor=after)


async def hashtags_page(db: AsyncSession, q: str, cursor: str | None, limit: int) -> Page[HashtagOut]:
    rows, after = await hashtags(db, q, cursor, limit)
    return Page[HashtagOut](items=[HashtagOut(**r) for r in rows], next_cursor=after)
