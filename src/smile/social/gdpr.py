"""The social network's part of a data export and of an erasure (registered with identity's GDPR registry).

Export: what the person wrote, uploaded and did, and who they follow, block and talk with; never other
people's private content (their messages, who blocked or reported the person).
Erasure: posts, reactions, votes, bookmarks, follows, blocks, mutes, notifications and media go (files
included); comments and messages in other people's threads stay as empty, deleted tombstones so the
threads keep their shape; reports the person filed lose their text.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from sqlalchemy import Select, String, cast, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from smile.identity.models import User
from smile.identity.profile import gdpr
from smile.kit.db import utcnow
from smile.social.models import (
    Block,
    Bookmark,
    Comment,
    Conversation,
    ConversationMember,
    Follow,
    Media,
    Mention,
    Message,
    Mute,
    Notification,
    NotificationPref,
    PollOption,
    PollVote,
    Post,
    PostEdit,
    Reaction,
    Report,
    SocialActivity,
    SocialCounts,
    StreamEvent,
    TimelineEntry,
)

ERASED = ""  # what an erased comment or message says


def _row(obj: Any, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs if c.key not in skip}


async def _rows(db: AsyncSession, stmt: Select, skip: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    return [_row(r, skip) for r in (await db.scalars(stmt)).all()]


async def _people(db: AsyncSession, stmt: Select) -> list[dict[str, Any]]:
    """Rows of (user id, created_at, extra...) as {user_id, username, ...}; `stmt` selects User first."""
    out = []
    for user, *rest in (await db.execute(stmt)).all():
        extra = dict(zip(("created_at", "status"), rest, strict=False))  # blocks and mutes have no status
        out.append({"user_id": user.id, "username": user.username, **extra})
    return out


async def export(db: AsyncSession, user: User) -> dict[str, Any]:
    uid = user.id
    mine = select(Post.id).where(Post.author_id == uid)
    members = aliased(ConversationMember)
    conversations = []
    for conversation, member in (
        await db.execute(
            select(Conversation, ConversationMember)
            .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
            .where(ConversationMember.user_id == uid)
            .order_by(Conversation.id)
        )
    ).all():
        names = (
            await db.scalars(
                select(User.username)
                .join(members, members.user_id == User.id)
                .where(members.conversation_id == conversation.id)
                .order_by(User.username)
            )
        ).all()
        conversations.append(
            _row(conversation, frozenset({"direct_key"}))
            | {"members": list(names), "joined_at": member.created_at, "left_at": member.left_at, "muted": member.muted}
        )
    return {
        "posts": await _rows(db, select(Post).where(Post.author_id == uid).order_by(Post.id), frozenset({"search"})),
        "post_edits": await _rows(db, select(PostEdit).where(PostEdit.post_id.in_(mine)).order_by(PostEdit.id)),
        "poll_options": await _rows(
            db, select(PollOption).where(PollOption.post_id.in_(mine)).order_by(PollOption.post_id, PollOption.position)
        ),
        "comments": await _rows(db, select(Comment).where(Comment.author_id == uid).order_by(Comment.id)),
        "reactions": await _rows(db, select(Reaction).where(Reaction.user_id == uid).order_by(Reaction.created_at)),
        "bookmarks": await _rows(db, select(Bookmark).where(Bookmark.user_id == uid).order_by(Bookmark.created_at)),
        "poll_votes": await _rows(db, select(PollVote).where(PollVote.user_id == uid).order_by(PollVote.created_at)),
        "mentioned_in": list(await db.scalars(select(Mention.post_id).where(Mention.user_id == uid))),
        "following": await _people(
            db,
            select(User, Follow.created_at, Follow.status)
            .join(Follow, Follow.followee_id == User.id)
            .where(Follow.follower_id == uid)
            .order_by(Follow.created_at),
        ),
        "followers": await _people(
            db,
            select(User, Follow.created_at, Follow.status)
            .join(Follow, Follow.follower_id == User.id)
            .where(Follow.followee_id == uid)
            .order_by(Follow.created_at),
        ),
        # who the person blocked and muted; never who blocked or muted them
        "blocked": await _people(
            db,
            select(User, Block.created_at)
            .join(Block, Block.blocked_id == User.id)
            .where(Block.blocker_id == uid)
            .order_by(Block.created_at),
        ),
        "muted": await _people(
            db,
            select(User, Mute.created_at)
            .join(Mute, Mute.muted_id == User.id)
            .where(Mute.muter_id == uid)
            .order_by(Mute.created_at),
        ),
        "reports_filed": await _rows(
            db, select(Report).where(Report.reporter_id == uid).order_by(Report.id), frozenset({"resolved_by"})
        ),
        # the conversations and the person's own messages; the other members' messages are theirs
        "conversations": conversations,
        "messages": await _rows(db, select(Message).where(Message.sender_id == uid).order_by(Message.id)),
        "media": await _rows(
            db, select(Media).where(Media.owner_id == uid).order_by(Media.id), frozenset({"storage_key", "thumb_key"})
        ),
        "notifications": await _rows(
            db, select(Notification).where(Notification.user_id == uid).order_by(Notification.id)
        ),
        "notification_preferences": {
            p.kind: p.enabled for p in await db.scalars(select(NotificationPref).where(NotificationPref.user_id == uid))
        },
        "activity": await _rows(db, select(SocialActivity).where(SocialActivity.user_id == uid)),
    }


def _archive_name(media: Media) -> str:
    ext = (
        media.storage_key.rsplit(".", 1)[-1]
        if "." in media.storage_key
        else ((mimetypes.guess_extension(media.mime) or ".bin").lstrip("."))
    )
    return f"media/{media.id}.{ext}"


async def files(db: AsyncSession, user: User) -> list[tuple[str, str]]:
    return [
        (_archive_name(m), m.storage_key)
        for m in await db.scalars(select(Media).where(Media.owner_id == user.id).order_by(Media.id))
    ]


async def erase(db: AsyncSession, user: User) -> list[str]:
    uid, now = user.id, utcnow()
    keys = [
        k
        for row in (await db.execute(select(Media.storage_key, Media.thumb_key).where(Media.owner_id == uid))).all()
        for k in row
        if k
    ]
    await db.execute(delete(Media).where(Media.owner_id == uid))
    # what the person did to other people's posts, with the counts kept right
    counted = Post.deleted_at.is_(None)
    gone = select(Reaction.post_id).where(Reaction.user_id == uid).scalar_subquery()
    await db.execute(
        update(Post)
        .where(Post.id.in_(gone))
        .values(reactions_count=func.greatest(Post.reactions_count - 1, 0))
        .execution_options(synchronize_session=False)
    )
    await db.execute(delete(Reaction).where(Reaction.user_id == uid))
    voted = select(PollVote.option_id).where(PollVote.user_id == uid).scalar_subquery()
    await db.execute(
        update(PollOption)
        .where(PollOption.id.in_(voted))
        .values(votes_count=func.greatest(PollOption.votes_count - 1, 0))
        .execution_options(synchronize_session=False)
    )
    await db.execute(delete(PollVote).where(PollVote.user_id == uid))
    reposted = select(Post.repost_of_id).where(Post.author_id == uid, Post.repost_of_id.is_not(None), counted)
    await db.execute(
        update(Post)
        .where(Post.id.in_(reposted.scalar_subquery()))
        .values(reposts_count=func.greatest(Post.reposts_count - 1, 0))
        .execution_options(synchronize_session=False)
    )
    # comments under other people's posts: emptied tombstones (replies by others hang off them)
    live = Comment.author_id == uid
    per_post = (
        select(Comment.post_id, func.count().label("n"))
        .where(live, Comment.deleted_at.is_(None))
        .group_by(Comment.post_id)
        .subquery()
    )
    await db.execute(
        update(Post)
        .where(Post.id == per_post.c.post_id)
        .values(comments_count=func.greatest(Post.comments_count - per_post.c.n, 0))
        .execution_options(synchronize_session=False)
    )
    await db.execute(
        update(Comment)
        .where(live)
        .values(body=ERASED, body_html=ERASED, deleted_at=func.coalesce(Comment.deleted_at, now))
        .execution_options(synchronize_session=False)
    )
    # the person's posts, with their edits, polls, mentions, reactions and comments (foreign keys cascade)
    await db.execute(delete(Post).where(Post.author_id == uid))
    # messages: the conversations go on for the others, without the person's words
    await db.execute(
        update(Message)
        .where(Message.sender_id == uid)
        .values(body=ERASED, body_html=ERASED, deleted_at=func.coalesce(Message.deleted_at, now))
        .execution_options(synchronize_session=False)
    )
    theirs = list(
        await db.scalars(
            delete(ConversationMember)
            .where(ConversationMember.user_id == uid)
            .returning(ConversationMember.conversation_id)
        )
    )
    await db.execute(
        delete(Conversation).where(
            Conversation.id.in_(theirs), ~exists().where(ConversationMember.conversation_id == Conversation.id)
        )
    )
    for model, columns in (
        (Bookmark, ("user_id",)),
        (Follow, ("follower_id", "followee_id")),
        (Block, ("blocker_id", "blocked_id")),
        (Mute, ("muter_id", "muted_id")),
        (Mention, ("user_id",)),
        (Notification, ("user_id", "actor_id")),
        (NotificationPref, ("user_id",)),
        (TimelineEntry, ("user_id", "author_id")),
        (SocialActivity, ("user_id",)),
        (SocialCounts, ("user_id",)),
    ):
        await db.execute(delete(model).where(or_(*(getattr(model, c) == uid for c in columns))))
    # live events: the person's own, and other people's copies that carry the person's messages or name
    await db.execute(
        delete(StreamEvent).where(or_(StreamEvent.user_id == uid, cast(StreamEvent.payload, String).contains(str(uid))))
    )
    await db.execute(
        update(Report).where(Report.reporter_id == uid).values(details="").execution_options(synchronize_session=False)
    )
    await db.flush()
    return keys


gdpr.register("social", export=export, erase=erase, files=files)
