"""Who may see what: the one place the privacy rules of the social network live.

Every read path (timelines, post page, comments, search, notifications, the real-time
stream, media URLs) filters through these expressions, so a rule changes in one place.

A post is visible to a viewer when it is not deleted, is visible (or the viewer wrote
it), its author is an active account, neither has blocked the other, and:
- the viewer is the author; or
- the viewer is mentioned in it; or
- it is public and the author's account is not private; or
- it is public or followers-only and the viewer is an accepted follower.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from smile.identity.models import User
from smile.kit.errors import NotFound
from smile.social.models import Block, Follow, Mention, Mute, Post

Author = aliased(User, name="author")


def blocked_between(viewer_id: uuid.UUID | None, other_id) -> ColumnElement[bool]:
    """True when viewer and other have blocked each other in either direction."""
    if viewer_id is None:
        return false()
    return exists().where(
        or_(
            and_(Block.blocker_id == viewer_id, Block.blocked_id == other_id),
            and_(Block.blocker_id == other_id, Block.blocked_id == viewer_id),
        )
    )


def muted_by(viewer_id: uuid.UUID | None, other_id) -> ColumnElement[bool]:
    if viewer_id is None:
        return false()
    return exists().where(Mute.muter_id == viewer_id, Mute.muted_id == other_id)


def follows(viewer_id: uuid.UUID | None, author_id) -> ColumnElement[bool]:
    if viewer_id is None:
        return false()
    return exists().where(Follow.follower_id == viewer_id, Follow.followee_id == author_id, Follow.status == "accepted")


def post_visible(viewer_id: uuid.UUID | None, post=Post, author=Author) -> ColumnElement[bool]:
    """The visibility rule over `post` joined to its `author` (a User alias)."""
    if viewer_id is None:
        audience = and_(post.visibility == "public", author.is_private.is_(False))
        own = false()
        mentioned = false()
    else:
        own = post.author_id == viewer_id
        mentioned = exists().where(Mention.post_id == post.id, Mention.user_id == viewer_id)
        audience = or_(
            and_(post.visibility == "public", author.is_private.is_(False)),
            and_(post.visibility.in_(("public", "followers")), follows(viewer_id, post.author_id)),
        )
    return and_(
        post.deleted_at.is_(None),
        or_(post.status == "visible", own),
        author.status == "active",
        or_(own, ~blocked_between(viewer_id, post.author_id)),
        or_(own, mentioned, audience),
    )


def visible_posts(viewer_id: uuid.UUID | None):
    """SELECT Post joined to its author, filtered to what the viewer may see."""
    return select(Post).join(Author, Author.id == Post.author_id).where(post_visible(viewer_id))


async def get_visible_post(db: AsyncSession, viewer_id: uuid.UUID | None, post_id: uuid.UUID) -> Post:
    """The post if the viewer may see it; otherwise 404 (never 403: its existence is private too)."""
    post = await db.scalar(visible_posts(viewer_id).where(Post.id == post_id))
    if post is None:
        raise NotFound("This post does not exist or you cannot see it.")
    return post


def account_visible(viewer_id: uuid.UUID | None, user=User) -> ColumnElement[bool]:
    """Accounts shown in lists and search: active, and not blocked either way."""
    return and_(user.status == "active", ~blocked_between(viewer_id, user.id) if viewer_id else true())


async def is_blocked(db: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> bool:
    return bool(await db.scalar(select(blocked_between(a, b))))
