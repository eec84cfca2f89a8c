"""The social graph: follows (with requests for private accounts), blocks, mutes, profiles, reports."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import User
from smile.identity.schemas import PublicUser
from smile.kit import jobs, runtime
from smile.kit.errors import Conflict, Invalid, NotFound
from smile.kit.pagination import keyset, page_of
from smile.social import visibility
from smile.social.graph.schemas import AccountPage, Counts, ProfileOut, Relationship, ReportIn
from smile.social.models import (
    Block,
    Comment,
    ConversationMember,
    Follow,
    Message,
    Mute,
    Post,
    Report,
    SocialCounts,
)
from smile.social.notifications.service import notify
from smile.social.schemas import AuthorOut
from smile.social.timelines import fanout

NO_ACCOUNT = "No account with this username."


async def find_account(db: AsyncSession, username: str, viewer_id: uuid.UUID | None) -> User:
    """An active account the viewer may see (not blocked either way); otherwise 404."""
    user = await db.scalar(select(User).where(func.lower(User.username) == username[:64].lower()))
    if user is None:
        raise NotFound(NO_ACCOUNT)
    if user.id == viewer_id:
        return user
    if user.status != "active" or (viewer_id and await visibility.is_blocked(db, viewer_id, user.id)):
        raise NotFound(NO_ACCOUNT)
    return user


async def _follow_row(db: AsyncSession, follower_id: uuid.UUID, followee_id: uuid.UUID) -> Follow | None:
    return await db.get(Follow, (follower_id, followee_id))


# Follows


async def follow(db: AsyncSession, viewer: User, username: str) -> str:
    """Follow (public account) or request to follow (private account). Returns accepted|pending."""
    target = await db.scalar(select(User).where(func.lower(User.username) == username[:64].lower()))
    if target is None or target.status != "active":
        raise NotFound(NO_ACCOUNT)
    if target.id == viewer.id:
        raise Invalid("You cannot follow yourself.")
    if await db.get(Block, (viewer.id, target.id)):
        raise Conflict("You blocked this account; unblock it before following.")
    if await db.get(Block, (target.id, viewer.id)):
        raise NotFound(NO_ACCOUNT)
    existing = await _follow_row(db, viewer.id, target.id)
    if existing is not None:
        return existing.status
    status = "pending" if target.is_private else "accepted"
    await db.execute(
        insert(Follow).values(follower_id=viewer.id, followee_id=target.id, status=status).on_conflict_do_nothing()
    )
    await notify(db, user_id=target.id, kind="follow_request" if status == "pending" else "follow", actor_id=viewer.id)
    if status == "accepted":
        await _backfill(db, viewer.id, target.id)
    return status


async def _backfill(db: AsyncSession, follower_id: uuid.UUID, followee_id: uuid.UUID) -> None:
    from smile.social.timelines import tasks

    await jobs.defer(db, tasks.backfill, follower_id=str(follower_id), followee_id=str(followee_id))


async def unfollow(db: AsyncSession, viewer: User, username: str) -> None:
    """Stop following, or cancel a pending request. Idempotent."""
    target = await find_account(db, username, viewer.id)
    await db.execute(delete(Follow).where(Follow.follower_id == viewer.id, Follow.followee_id == target.id))
    await fanout.remove_following(db, viewer.id, target.id)


async def follow_requests(db: AsyncSession, viewer: User, cursor: str | None, limit: int) -> AccountPage:
    stmt = (
        select(User)
        .join(Follow, Follow.follower_id == User.id)
        .where(Follow.followee_id == viewer.id, Follow.status == "pending", visibility.account_visible(viewer.id))
    )
    return await _account_page(db, stmt, User.id, cursor, limit)


async def answer_request(db: AsyncSession, viewer: User, username: str, approve: bool) -> None:
    requester = await db.scalar(select(User).where(func.lower(User.username) == username[:64].lower()))
    row = requester and await _follow_row(db, requester.id, viewer.id)
    if row is None or row.status != "pending":
        raise NotFound("No pending follow request from this account.")
    if not approve:
        await db.delete(row)
        return
    row.status = "accepted"
    await db.flush()
    await notify(db, user_id=requester.id, kind="follow", actor_id=viewer.id)
    await _backfill(db, requester.id, viewer.id)


async def can_see_network(db: AsyncSession, viewer_id: uuid.UUID | None, user: User) -> bool:
    """Private accounts show their followers, following and posts only to accepted followers."""
    if not user.is_private or viewer_id == user.id:
        return True
    row = viewer_id and await _follow_row(db, viewer_id, user.id)
    return bool(row and row.status == "accepted")


async def followers(
    db: AsyncSession,
    viewer_id: uuid.UUID | None,
    username: str,
    cursor: str | None,
    limit: int,
    following: bool = False,
) -> AccountPage:
    user = await find_account(db, username, viewer_id)
    if not await can_see_network(db, viewer_id, user):
        raise NotFound(NO_ACCOUNT)
    mine, theirs = (Follow.follower_id, Follow.followee_id) if following else (Follow.followee_id, Follow.follower_id)
    stmt = (
        select(User)
        .join(Follow, theirs == User.id)
        .where(mine == user.id, Follow.status == "accepted", visibility.account_visible(viewer_id))
    )
    return await _account_page(db, stmt, User.id, cursor, limit)


async def _account_page(db: AsyncSession, stmt, id_column, cursor: str | None, limit: int) -> AccountPage:
    rows = list(await db.scalars(keyset(stmt, id_column, cursor, limit)))
    users, next_cursor = page_of(rows, limit)
    return AccountPage(items=[AuthorOut.of(u) for u in users], next_cursor=next_cursor)


# Blocks and mutes


async def block(db: AsyncSession, viewer: User, username: str) -> None:
    target = await db.scalar(select(User).where(func.lower(User.username) == username[:64].lower()))
    if target is None or target.status == "deleted":
        raise NotFound(NO_ACCOUNT)
    if target.id == viewer.id:
        raise Invalid("You cannot block yourself.")
    await db.execute(insert(Block).values(blocker_id=viewer.id, blocked_id=target.id).on_conflict_do_nothing())
    await db.execute(
        delete(Follow).where(
            or_(
                and_(Follow.follower_id == viewer.id, Follow.followee_id == target.id),
                and_(Follow.follower_id == target.id, Follow.followee_id == viewer.id),
            )
        )
    )
    await fanout.remove_between(db, viewer.id, target.id)


async def unblock(db: AsyncSession, viewer: User, username: str) -> None:
    target = await db.scalar(select(User).where(func.lower(User.username) == username[:64].lower()))
    if target is None:
        raise NotFound(NO_ACCOUNT)
    await db.execute(delete(Block).where(Block.blocker_id == viewer.id, Block.blocked_id == target.id))


async def mute(db: AsyncSession, viewer: User, username: str, on: bool) -> None:
    target = await find_account(db, username, viewer.id)
    if target.id == viewer.id:
        raise Invalid("You cannot mute yourself.")
    if on:
        await db.execute(insert(Mute).values(muter_id=viewer.id, muted_id=target.id).on_conflict_do_nothing())
    else:
        await db.execute(delete(Mute).where(Mute.muter_id == viewer.id, Mute.muted_id == target.id))


async def blocked_accounts(db: AsyncSession, viewer: User, cursor: str | None, limit: int) -> AccountPage:
    stmt = select(User).join(Block, Block.blocked_id == User.id).where(Block.blocker_id == viewer.id)
    return await _account_page(db, stmt, User.id, cursor, limit)


async def muted_accounts(db: AsyncSession, viewer: User, cursor: str | None, limit: int) -> AccountPage:
    stmt = select(User).join(Mute, Mute.muted_id == User.id).where(Mute.muter_id == viewer.id)
    return await _account_page(db, stmt, User.id, cursor, limit)


# Profiles


async def relationship(db: AsyncSession, viewer_id: uuid.UUID, other_id: uuid.UUID) -> Relationship:
    out = await db.get(Follow, (viewer_id, other_id))
    back = await db.get(Follow, (other_id, viewer_id))
    return Relationship(
        following=bool(out and out.status == "accepted"),
        requested=bool(out and out.status == "pending"),
        followed_by=bool(back and back.status == "accepted"),
        requested_by=bool(back and back.status == "pending"),
        blocking=bool(await db.get(Block, (viewer_id, other_id))),
        muting=bool(await db.get(Mute, (viewer_id, other_id))),
    )


async def relationship_with(db: AsyncSession, viewer: User, username: str) -> Relationship:
    """Your relationship with an account (reachable even when you blocked it; not when it blocked you)."""
    other = await db.scalar(select(User).where(func.lower(User.username) == username[:64].lower()))
    if other is None or other.status != "active" or await db.get(Block, (other.id, viewer.id)):
        raise NotFound(NO_ACCOUNT)
    return await relationship(db, viewer.id, other.id)


async def counts(db: AsyncSession, user_id: uuid.UUID) -> Counts:
    row = (
        await db.execute(
            select(
                func.coalesce(
                    select(SocialCounts.followers).where(SocialCounts.user_id == user_id).scalar_subquery(), 0
                ),
                select(func.count())
                .where(Follow.follower_id == user_id, Follow.status == "accepted")
                .scalar_subquery(),
                select(func.count())
                .where(Post.author_id == user_id, Post.deleted_at.is_(None), Post.status == "visible")
                .scalar_subquery(),
            )
        )
    ).one()
    return Counts(followers=row[0], following=row[1], posts=row[2])


async def profile(db: AsyncSession, viewer_id: uuid.UUID | None, username: str) -> ProfileOut:
    user = await find_account(db, username, viewer_id)
    rel = await relationship(db, viewer_id, user.id) if viewer_id and viewer_id != user.id else None
    return ProfileOut(
        **PublicUser.of(user).model_dump(),
        counts=await counts(db, user.id),
        relationship=rel,
        is_self=viewer_id == user.id,
    )


# Reports


async def _target_user(db: AsyncSession, viewer_id: uuid.UUID, body: ReportIn) -> uuid.UUID:
    """The author of the reported thing, if the reporter can see it; otherwise 404."""
    if body.target_type == "post":
        return (await visibility.get_visible_post(db, viewer_id, body.target_id)).author_id
    if body.target_type == "comment":
        author_id = await db.scalar(
            select(Comment.author_id)
            .join(Post, Post.id == Comment.post_id)
            .join(visibility.Author, visibility.Author.id == Post.author_id)
            .where(
                Comment.id == body.target_id,
                Comment.deleted_at.is_(None),
                or_(Comment.status == "visible", Comment.author_id == viewer_id),
                visibility.post_visible(viewer_id),
                or_(Comment.author_id == viewer_id, ~visibility.blocked_between(viewer_id, Comment.author_id)),
            )
        )
        if author_id is None:
            raise NotFound("This comment does not exist or you cannot see it.")
        return author_id
    if body.target_type == "message":
        sender_id = await db.scalar(
            select(Message.sender_id)
            .join(
                ConversationMember,
                and_(
                    ConversationMember.conversation_id == Message.conversation_id,
                    ConversationMember.user_id == viewer_id,
                ),
            )
            .where(Message.id == body.target_id, Message.deleted_at.is_(None))
        )
        if sender_id is None:
            raise NotFound("This message does not exist or you cannot see it.")
        return sender_id
    user = await db.get(User, body.target_id)
    if user is None or user.status != "active" or await visibility.is_blocked(db, viewer_id, user.id):
        raise NotFound(NO_ACCOUNT)
    return user.id


async def report(db: AsyncSession, viewer: User, body: ReportIn) -> Report:
    rt = runtime.current()
    await rt.limiter.hit(
        rt.settings.rate_report,
        "report",
        str(viewer.id),
        message="You have sent many reports recently; try again later.",
    )
    target_user_id = await _target_user(db, viewer.id, body)
    if target_user_id == viewer.id:
        raise Invalid("You cannot report your own content.")
    duplicate = await db.scalar(
        select(Report.id).where(
            Report.reporter_id == viewer.id,
            Report.target_type == body.target_type,
            Report.target_id == body.target_id,
            Report.status == "open",
        )
    )
    if duplicate:
        raise Conflict("You already reported this; a moderator will look at it.")
    row = Report(
        reporter_id=viewer.id,
        target_type=body.target_type,
        target_id=body.target_id,
        target_user_id=target_user_id,
        reason=body.reason,
        details=body.details.strip(),
    )
    db.add(row)
    await db.flush()
    return row
