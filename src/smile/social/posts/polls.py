"""Polls: one vote per person, results after voting, expiry or to the author; an end notice once."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import User
from smile.kit.db import utcnow
from smile.kit.errors import Conflict, Invalid, NotFound
from smile.social.models import Poll, PollOption, PollVote, Post
from smile.social.notifications.service import notify
from smile.social.visibility import get_visible_post


async def vote(db: AsyncSession, user: User, post_id: uuid.UUID, option_id: uuid.UUID) -> Post:
    post = await get_visible_post(db, user.id, post_id)
    poll = await db.get(Poll, post.id)
    if poll is None:
        raise NotFound("This post has no poll.")
    if poll.expires_at <= utcnow():
        raise Invalid("This poll has ended.", fields={"option_id": "poll closed"})
    option = await db.scalar(select(PollOption).where(PollOption.id == option_id, PollOption.post_id == post.id))
    if option is None:
        raise Invalid("That option is not part of this poll.", fields={"option_id": "unknown option"})
    added = await db.scalar(
        insert(PollVote)
        .values(post_id=post.id, user_id=user.id, option_id=option.id, created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(PollVote.user_id)
    )
    if added is None:
        raise Conflict("You already voted in this poll.")
    await db.execute(
        update(PollOption).where(PollOption.id == option.id).values(votes_count=PollOption.votes_count + 1)
    )
    return post


async def close_expired(db: AsyncSession, batch: int = 200) -> int:
    """Notify voters and the author of each newly ended poll, exactly once (conditional UPDATE)."""
    done = 0
    due = list(
        await db.scalars(
            select(Poll.post_id).where(Poll.expires_at <= utcnow(), Poll.ended_notified_at.is_(None)).limit(batch)
        )
    )
    for post_id in due:
        claimed = await db.scalar(
            update(Poll)
            .where(Poll.post_id == post_id, Poll.ended_notified_at.is_(None))
            .values(ended_notified_at=utcnow())
            .returning(Poll.post_id)
        )
        if claimed is None:
            continue
        post = await db.get(Post, post_id)
        if post is None or post.deleted_at is not None:
            continue
        voters = set(await db.scalars(select(PollVote.user_id).where(PollVote.post_id == post_id)))
        for user_id in voters | {post.author_id}:
            await notify(db, user_id=user_id, kind="poll_ended", actor_id=None, post_id=post_id)
        done += 1
    return done
