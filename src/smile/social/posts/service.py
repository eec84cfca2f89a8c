"""Posts: create, read, edit (with history), delete, repost and quote.

Every read goes through smile.social.visibility; every body through smile.social.moderation.
Comments, reactions/bookmarks/pins and polls live in comments.py, engage.py and polls.py.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import User
from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.errors import Conflict, Forbidden, Invalid, NotFound
from smile.social import moderation, text
from smile.social.models import Mention, Poll, PollOption, Post, PostEdit, PostHashtag
from smile.social.notifications.service import notify
from smile.social.posts.schemas import PostIn, PostUpdate
from smile.social.timelines import service as timelines
from smile.social.visibility import get_visible_post  # noqa: F401  (re-exported for endpoints)

MEDIA_UNAVAILABLE = "media upload not available"


async def rate_limit(user: User, action: str = "post") -> None:
    settings = runtime.current().settings
    await runtime.current().limiter.hit(settings.rate_post, action, str(user.id), message="You are posting too fast.")


async def create(db: AsyncSession, author: User, data: PostIn, generated_by: dict | None = None) -> Post:
    """Publish a post (held for review when moderation flags it), then fan it out. `generated_by` (AI
    provenance: agent, model, version) is kept only for AI agents' posts."""
    await rate_limit(author)
    body = data.body.strip()
    if not body and not data.media_ids and data.poll is None and data.quote_of_id is None:
        raise Invalid("Write something, or add images or a poll.", fields={"body": "empty"})
    quoted = await _quotable(db, author.id, data.quote_of_id) if data.quote_of_id else None
    html, mentions, tags = text.render(body)
    verdict = await moderation.check(db, author, body)
    post = Post(
        author_id=author.id,
        body=body,
        body_html=html,
        visibility=data.visibility,
        content_warning=(data.content_warning or "").strip() or None,
        quote_of_id=quoted.id if quoted else None,
        status=str(verdict),
        generated_by=generated_by if author.is_ai else None,
    )
    db.add(post)
    await db.flush()
    mentioned = await _set_mentions(db, post, mentions)
    await _set_hashtags(db, post, tags)
    if data.poll is not None:
        db.add(Poll(post_id=post.id, expires_at=utcnow() + dt.timedelta(minutes=data.poll.expires_in_minutes)))
        await db.flush()
        db.add_all([PollOption(post_id=post.id, position=i, label=label) for i, label in enumerate(data.poll.options)])
        await db.flush()
    if data.media_ids:
        await _attach_media(db, author.id, data.media_ids, post.id)
    if verdict == "held":
        await moderation.hold(db, "post", post.id, author.id, verdict.rule)
    else:
        for user_id in mentioned:
            await notify(db, user_id=user_id, kind="mention", actor_id=author.id, post_id=post.id)
        if quoted:
            await notify(db, user_id=quoted.author_id, kind="quote", actor_id=author.id, post_id=post.id)
    await timelines.fan_out(db, post)
    return post


async def _attach_media(db: AsyncSession, owner_id: uuid.UUID, media_ids: list[uuid.UUID], post_id: uuid.UUID) -> None:
    try:
        from smile.social.media.service import attach
    except ImportError as exc:  # the media area is switched off or not installed
        raise Invalid(MEDIA_UNAVAILABLE, fields={"media_ids": MEDIA_UNAVAILABLE}) from exc
    await attach(db, owner_id, media_ids, post_id=post_id)


async def _quotable(db: AsyncSession, viewer_id: uuid.UUID, post_id: uuid.UUID) -> Post:
    """A post that may be reposted or quoted: visible, public, by a public account (404/422 otherwise)."""
    post = await get_visible_post(db, viewer_id, post_id)
    if post.repost_of_id:
        post = await get_visible_post(db, viewer_id, post.repost_of_id)
    author = await db.get(User, post.author_id)
    if post.visibility != "public" or author.is_private or post.status != "visible":
        raise Invalid(
            "Only public posts from public accounts can be reposted or quoted.", fields={"post": "not public"}
        )
    return post


async def _set_mentions(db: AsyncSession, post: Post, usernames: list[str]) -> list[uuid.UUID]:
    """Store who the post mentions; returns the ids newly mentioned."""
    before = set(await db.scalars(select(Mention.user_id).where(Mention.post_id == post.id)))
    await db.execute(delete(Mention).where(Mention.post_id == post.id))
    if not usernames:
        return []
    ids = list(
        await db.scalars(
            select(User.id).where(
                func.lower(User.username).in_(usernames), User.status == "active", User.id != post.author_id
            )
        )
    )
    db.add_all([Mention(post_id=post.id, user_id=uid) for uid in ids])
    await db.flush()
    return [uid for uid in ids if uid not in before]


async def _set_hashtags(db: AsyncSession, post: Post, tags: list[str]) -> None:
    await db.execute(delete(PostHashtag).where(PostHashtag.post_id == post.id))
    db.add_all([PostHashtag(post_id=post.id, tag=tag) for tag in tags])
    await db.flush()


async def own_post(db: AsyncSession, user: User, post_id: uuid.UUID, admin_ok: bool = False) -> Post:
    """The post, when `user` wrote it (or is an admin and admin_ok): 404 if unseen, 403 if someone else's."""
    if admin_ok and user.is_admin:
        post = await db.scalar(select(Post).where(Post.id == post_id, Post.deleted_at.is_(None)))
        if post is None:
            raise NotFound("This post does not exist or you cannot see it.")
        return post
    post = await get_visible_post(db, user.id, post_id)
    if post.author_id != user.id:
        raise Forbidden("Only the author can do this.")
    return post


async def edit(db: AsyncSession, user: User, post_id: uuid.UUID, data: PostUpdate) -> Post:
    """Change the body, content warning or visibility; the previous version is kept."""
    post = await own_post(db, user, post_id)
    if post.repost_of_id:
        raise Invalid("A repost cannot be edited.")
    fields = data.model_fields_set
    changed = ("body" in fields and data.body is not None and data.body.strip() != post.body) or (
        "content_warning" in fields and (data.content_warning or None) != post.content_warning
    )
    if changed:
        db.add(PostEdit(post_id=post.id, body=post.body, content_warning=post.content_warning))
        post.edited_at = utcnow()
    if "content_warning" in fields:
        post.content_warning = (data.content_warning or "").strip() or None
    if data.visibility is not None:
        post.visibility = data.visibility
    if "body" in fields and data.body is not None and data.body.strip() != post.body:
        post.body = data.body.strip()
        post.body_html, mentions, tags = text.render(post.body)
        newly = await _set_mentions(db, post, mentions)
        await _set_hashtags(db, post, tags)
        verdict = await moderation.check(db, user, post.body)
        if verdict == "held" and post.status == "visible":
            post.status = "held"
            await moderation.hold(db, "post", post.id, user.id, verdict.rule)
        if post.status == "visible":
            for uid in newly:
                await notify(db, user_id=uid, kind="mention", actor_id=user.id, post_id=post.id)
    await db.flush()
    return post


async def edits(db: AsyncSession, viewer_id: uuid.UUID | None, post_id: uuid.UUID) -> list[PostEdit]:
    await get_visible_post(db, viewer_id, post_id)
    return list(await db.scalars(select(PostEdit).where(PostEdit.post_id == post_id).order_by(PostEdit.id.desc())))


async def remove(db: AsyncSession, user: User, post_id: uuid.UUID) -> None:
    """Soft-delete a post (its author or an admin)."""
    post = await own_post(db, user, post_id, admin_ok=True)
    post.deleted_at = utcnow()
    post.pinned_at = None
    if post.repost_of_id:
        await _count_repost(db, post.repost_of_id, -1)
    await db.flush()


async def _count_repost(db: AsyncSession, post_id: uuid.UUID, delta: int) -> None:
    await db.execute(
        update(Post).where(Post.id == post_id).values(reposts_count=func.greatest(Post.reposts_count + delta, 0))
    )


async def repost(db: AsyncSession, user: User, post_id: uuid.UUID) -> Post:
    """Repost a public post once; a second call answers 409."""
    await rate_limit(user)
    original = await _quotable(db, user.id, post_id)
    await db.execute(select(Post.id).where(Post.id == original.id).with_for_update())  # serialize reposts of it
    if await _my_repost(db, user.id, original.id):
        raise Conflict("You already reposted this post.")
    post = Post(author_id=user.id, body="", body_html="", visibility="public", repost_of_id=original.id)
    db.add(post)
    await db.flush()
    await _count_repost(db, original.id, 1)
    await notify(db, user_id=original.author_id, kind="repost", actor_id=user.id, post_id=original.id)
    await timelines.fan_out(db, post)
    return post


async def _my_repost(db: AsyncSession, user_id: uuid.UUID, original_id: uuid.UUID) -> Post | None:
    return await db.scalar(
        select(Post).where(Post.author_id == user_id, Post.repost_of_id == original_id, Post.deleted_at.is_(None))
    )


async def unrepost(db: AsyncSession, user: User, post_id: uuid.UUID) -> None:
    """Undo a repost, given the original's id (or the repost's own id)."""
    target = await db.scalar(
        select(Post).where(
            Post.id == post_id, Post.author_id == user.id, Post.repost_of_id.is_not(None), Post.deleted_at.is_(None)
        )
    )
    mine = target or await _my_repost(db, user.id, post_id)
    if mine is None:
        raise NotFound("You have not reposted this post.")
    mine.deleted_at = utcnow()
    await _count_repost(db, mine.repost_of_id, -1)
    await db.flush()
