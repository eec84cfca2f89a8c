"""Turn posts into PostOut for one viewer.

Everything a page of posts needs besides the post row (author, reaction counts by kind, the
viewer's reaction and bookmark, media, poll) is read by one statement: correlated subqueries
per post, built once with bind parameters. Reposted and quoted posts the viewer may see take
one more statement, only when the page holds some.

Other areas (profiles, search, post pages) call `present(db, viewer_id, posts)` on Post rows
they already filtered with smile.social.visibility; the home timeline selects `page_columns()`
with its page and calls `present_rows`.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ARRAY, any_, bindparam, column, exists, func, select
from sqlalchemy.dialects.postgresql import UUID, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import User
from smile.kit.db import utcnow
from smile.social.models import Bookmark, Media, Poll, PollOption, PollVote, Post, Reaction
from smile.social.posts.schemas import Counts, MediaOut, PollOptionOut, PollOut, PostOut
from smile.social.schemas import AuthorOut
from smile.social.visibility import Author, post_visible

VIEWER = bindparam("viewer", type_=UUID(as_uuid=True))
IDS = bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))
POST_COLUMNS = (
    Post.id,
    Post.author_id,
    Post.body,
    Post.body_html,
    Post.visibility,
    Post.content_warning,
    Post.status,
    Post.created_at,
    Post.edited_at,
    Post.pinned_at,
    Post.reactions_count,
    Post.comments_count,
    Post.reposts_count,
    Post.repost_of_id,
    Post.quote_of_id,
    Post.generated_by,
)


def author_columns(user) -> list:
    """What AuthorOut needs from `user` (the users table or an alias of it)."""
    return [
        user.id.label("a_id"),
        user.username.label("a_username"),
        user.display_name.label("a_display_name"),
        user.avatar_key.label("a_avatar_key"),
        user.account_type.label("a_account_type"),
    ]


def extra_columns(post_id, source, viewer=VIEWER) -> list:
    """Per-post subqueries for the post whose id is the column `post_id` of the FROM item `source`."""
    kinds = (
        select(Reaction.kind, func.count().label("n"))
        .where(Reaction.post_id == post_id)
        .group_by(Reaction.kind)
        .correlate(source)
        .subquery("kinds")
    )
    media = func.jsonb_build_object(
        "id",
        Media.id,
        "kind",
        Media.kind,
        "mime",
        Media.mime,
        "thumb",
        Media.thumb_key.is_not(None),
        "alt",
        Media.alt,
        "width",
        Media.width,
        "height",
        Media.height,
    )
    option = func.jsonb_build_object("id", PollOption.id, "label", PollOption.label, "votes", PollOption.votes_count)
    options = (
        select(func.jsonb_agg(aggregate_order_by(option, PollOption.position)))
        .where(PollOption.post_id == Poll.post_id)
        .scalar_subquery()
    )
    my_vote = select(PollVote.option_id).where(PollVote.post_id == Poll.post_id, PollVote.user_id == viewer)
    poll = func.jsonb_build_object(
        "expires_at", Poll.expires_at, "options", options, "my_vote", my_vote.scalar_subquery()
    )
    return [
        select(func.jsonb_object_agg(kinds.c.kind, kinds.c.n)).scalar_subquery().label("by_kind"),
        select(Reaction.kind)
        .where(Reaction.post_id == post_id, Reaction.user_id == viewer)
        .scalar_subquery()
        .label("my_reaction"),
        exists().where(Bookmark.post_id == post_id, Bookmark.user_id == viewer).label("bookmarked"),
        select(func.jsonb_agg(aggregate_order_by(media, Media.position, Media.id)))
        .where(Media.post_id == post_id)
        .scalar_subquery()
        .label("media"),
        select(poll).where(Poll.post_id == post_id).scalar_subquery().label("poll"),
    ]


def page_columns() -> list:
    """Post, author and per-post columns, for a statement selecting FROM posts JOIN Author."""
    return [*POST_COLUMNS, *author_columns(Author), *extra_columns(Post.id, Post)]


@functools.cache
def _by_ids():
    """Author and per-post columns for the (id, author_id) pairs passed as arrays."""
    pairs = (
        func.unnest(IDS, bindparam("authors", type_=ARRAY(UUID(as_uuid=True))))
        .table_valued(column("id", UUID(as_uuid=True)), column("author_id", UUID(as_uuid=True)))
        .render_derived(name="pairs")
    )
    return (
        select(pairs.c.id, *author_columns(User), *extra_columns(pairs.c.id, pairs))
        .select_from(pairs)
        .join(User, User.id == pairs.c.author_id)
    )


@functools.cache
def _visible_by_ids(anonymous: bool):
    """Whole posts among `ids` the viewer may see (reposted and quoted ones)."""
    return (
        select(*page_columns())
        .join(Author, Author.id == Post.author_id)
        .where(post_visible(None if anonymous else VIEWER), Post.id == any_(IDS))
    )


async def present_one(db: AsyncSession, viewer_id: uuid.UUID | None, post: Post) -> PostOut:
    return (await present(db, viewer_id, [post]))[0]


async def present(db: AsyncSession, viewer_id: uuid.UUID | None, posts: list[Post], nest: bool = True) -> list[PostOut]:
    """PostOut for each post, in order. Reposted/quoted posts are nested once, if the viewer may see them."""
    if not posts:
        return []
    params = {"ids": [p.id for p in posts], "authors": [p.author_id for p in posts], "viewer": viewer_id}
    connection = await db.connection()  # the session's; Core execution skips the ORM's per-row work
    extras = {row["id"]: row for row in (await connection.execute(_by_ids(), params)).mappings()}
    fields = [{c.key: getattr(p, c.key) for c in POST_COLUMNS} for p in posts]
    nested = await _nested(db, viewer_id, fields) if nest else {}
    return [_out(p, extras[p["id"]], viewer_id, nested) for p in fields]


async def present_rows(db: AsyncSession, viewer_id: uuid.UUID | None, rows: list[Any]) -> list[PostOut]:
    """PostOut for rows that selected `page_columns()`."""
    rows = [row._mapping for row in rows]  # read by key: several times faster than a Row's attributes
    nested = await _nested(db, viewer_id, rows)
    return [_out(row, row, viewer_id, nested) for row in rows]


async def _nested(db: AsyncSession, viewer_id: uuid.UUID | None, posts: list[Mapping]) -> dict[uuid.UUID, PostOut]:
    inner = {p["repost_of_id"] for p in posts if p["repost_of_id"]} | {
        p["quote_of_id"] for p in posts if p["quote_of_id"]
    }
    if not inner:
        return {}
    rows = await (await db.connection()).execute(
        _visible_by_ids(viewer_id is None), {"ids": list(inner), "viewer": viewer_id}
    )
    return {row["id"]: _out(row, row, viewer_id, {}) for row in rows.mappings()}


def _out(p: Mapping, extra: Mapping, viewer_id: uuid.UUID | None, nested: dict[uuid.UUID, PostOut]) -> PostOut:
    """`p` holds the post's columns, `extra` the author and per-post columns."""
    author = AuthorOut(
        id=extra["a_id"],
        username=extra["a_username"],
        display_name=extra["a_display_name"],
        avatar_url=f"/media/{extra['a_avatar_key']}" if extra["a_avatar_key"] else None,
        is_ai=extra["a_account_type"] == "ai_agent",
        account_type=extra["a_account_type"],
    )
    repost_of, quote_of, poll, media = p["repost_of_id"], p["quote_of_id"], extra["poll"], extra["media"]
    return PostOut(
        id=p["id"],
        author=author,
        body=p["body"],
        body_html=p["body_html"],
        visibility=p["visibility"],
        content_warning=p["content_warning"],
        status=p["status"],
        created_at=p["created_at"],
        edited_at=p["edited_at"],
        counts=Counts(
            reactions=p["reactions_count"],
            comments=p["comments_count"],
            reposts=p["reposts_count"],
            by_kind=extra["by_kind"] or {},
        ),
        my_reaction=extra["my_reaction"],
        bookmarked=extra["bookmarked"],
        pinned=p["pinned_at"] is not None,
        poll=_poll(poll, p["author_id"], viewer_id) if poll else None,
        repost_of=nested.get(repost_of) if repost_of else None,
        quote_of=nested.get(quote_of) if quote_of else None,
        quote_of_id=quote_of,
        media=[_media(m) for m in media] if media else [],
        url=f"/posts/{p['id']}",
        generated_by=p["generated_by"],
    )


def _media(m: dict[str, Any]) -> MediaOut:
    return MediaOut(
        id=m["id"],
        kind=m["kind"],
        mime=m["mime"],
        url=f"/media/post/{m['id']}",
        thumb_url=f"/media/post/{m['id']}/thumb" if m["thumb"] else None,
        alt=m["alt"] or "",
        width=m["width"],
        height=m["height"],
    )


def _poll(poll: dict[str, Any], author_id: uuid.UUID, viewer_id: uuid.UUID | None) -> PollOut:
    expires_at = dt.datetime.fromisoformat(poll["expires_at"])
    closed = expires_at <= utcnow()
    shown = closed or poll["my_vote"] is not None or author_id == viewer_id
    options = poll["options"] or []
    return PollOut(
        options=[PollOptionOut(id=o["id"], label=o["label"], votes=o["votes"] if shown else None) for o in options],
        my_vote=poll["my_vote"],
        expires_at=expires_at,
        closed=closed,
        total_votes=sum(o["votes"] for o in options) if shown else None,
        results_visible=shown,
    )
