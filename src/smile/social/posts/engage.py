"""Reactions, bookmarks and pins: per-person toggles on a visible post; counts kept atomically."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import User
from smile.kit.db import utcnow
from smile.kit.errors import Conflict
from smile.kit.pagination import keyset, page_of
from smile.social.models import REACTIONS, Bookmark, Post, Reaction
from smile.social.notifications.service import notify
from smile.social.posts.schemas import Counts, ReactionsOut, ReactionState, Reactor
from smile.social.posts.service import own_post
from smile.social.schemas import AuthorOut
from smile.social.visibility import account_visible, get_visible_post, visible_posts

MAX_PINNED = 3


async def react(db: AsyncSession, user: User, post_id: uuid.UUID, kind: str) -> ReactionState:
    """Set the viewer's reaction (one per post; changing it keeps the count)."""
    post = await get_visible_post(db, user.id, post_id)
    stmt = insert(Reaction).values(post_id=post.id, user_id=user.id, kind=kind, created_at=utcnow())
    stmt = stmt.on_conflict_do_update(index_elements=[Reaction.post_id, Reaction.user_id], set_={"kind": kind})
    inserted = await db.scalar(stmt.returning(text("(xmax = 0)")))
    if inserted:
        await db.execute(update(Post).where(Post.id == post.id).values(reactions_count=Post.reactions_count + 1))
        await notify(db, user_id=post.author_id, kind="reaction", actor_id=user.id, post_id=post.id)
    return await state(db, user.id, post.id)


async def unreact(db: AsyncSession, user: User, post_id: uuid.UUID) -> ReactionState:
    post = await get_visible_post(db, user.id, post_id)
    gone = await db.scalar(
        delete(Reaction).where(Reaction.post_id == post.id, Reaction.user_id == user.id).returning(Reaction.kind)
    )
    if gone:
        await db.execute(
            update(Post).where(Post.id == post.id).values(reactions_count=func.greatest(Post.reactions_count - 1, 0))
        )
    return await state(db, user.id, post.id)


async def by_kind(db: AsyncSession, post_id: uuid.UUID) -> dict[str, int]:
    rows = await db.execute(
        select(Reaction.kind, func.count()).where(Reaction.post_id == post_id).group_by(Reaction.kind)
    )
    return {kind: count for kind, count in rows}


async def state(db: AsyncSession, user_id: uuid.UUID, post_id: uuid.UUID) -> ReactionState:
    post = await db.scalar(select(Post).where(Post.id == post_id).execution_options(populate_existing=True))
    mine = await db.scalar(select(Reaction.kind).where(Reaction.post_id == post_id, Reaction.user_id == user_id))
    return ReactionState(
        my_reaction=mine,
        counts=Counts(
            reactions=post.reactions_count,
            comments=post.comments_count,
            reposts=post.reposts_count,
            by_kind=await by_kind(db, post_id),
        ),
    )


async def reactions(
    db: AsyncSession, viewer_id: uuid.UUID | None, post_id: uuid.UUID, kind: str | None, cursor: str | None, limit: int
) -> ReactionsOut:
    """Counts per kind and who reacted (paged by user id; accounts blocked either way are left out)."""
    post = await get_visible_post(db, viewer_id, post_id)
    stmt = (
        select(Reaction, User)
        .join(User, User.id == Reaction.user_id)
        .where(Reaction.post_id == post.id, account_visible(viewer_id, User))
    )
    if kind:
        stmt = stmt.where(Reaction.kind == kind)
    rows, next_cursor = page_of(
        list(await db.execute(keyset(stmt, Reaction.user_id, cursor, limit))), limit, id_of=lambda row: row[0].user_id
    )
    items = [Reactor(user=AuthorOut.of(u), kind=r.kind, emoji=REACTIONS.get(r.kind, "")) for r, u in rows]
    return ReactionsOut(counts=await by_kind(db, post.id), items=items, next_cursor=next_cursor)


async def bookmark(db: AsyncSession, user: User, post_id: uuid.UUID, on: bool) -> None:
    post = await get_visible_post(db, user.id, post_id)
    if on:
        await db.execute(
            insert(Bookmark).values(user_id=user.id, post_id=post.id, created_at=utcnow()).on_conflict_do_nothing()
        )
    else:
        await db.execute(delete(Bookmark).where(Bookmark.user_id == user.id, Bookmark.post_id == post.id))


async def bookmarks(db: AsyncSession, user: User, cursor: str | None, limit: int) -> tuple[list[Post], str | None]:
    """The viewer's bookmarked posts that they can still see, newest post first."""
    stmt = visible_posts(user.id).join(Bookmark, Bookmark.post_id == Post.id).where(Bookmark.user_id == user.id)
    return page_of(list(await db.scalars(keyset(stmt, Post.id, cursor, limit))), limit)


async def pin(db: AsyncSession, user: User, post_id: uuid.UUID, on: bool) -> None:
    """Pin one of one's own posts to one's profile (at most MAX_PINNED)."""
    post = await own_post(db, user, post_id)
    if not on:
        post.pinned_at = None
    elif post.pinned_at is None:
        await db.execute(select(User.id).where(User.id == user.id).with_for_update())  # one pin at a time
        pinned = await db.scalar(
            select(func.count())
            .select_from(Post)
            .where(Post.author_id == user.id, Post.pinned_at.is_not(None), Post.deleted_at.is_(None))
        )
        if pinned >= MAX_PINNED:
            raise Conflict(f"You can pin at most {MAX_PINNED} posts. Unpin one first.")
        post.pinned_at = utcnow()
    await db.flush()
