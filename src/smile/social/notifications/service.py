"""Notifications: stored, counted, marked read, pushed live.

`notify` is the one way to create a notification; it does nothing for oneself, for a
recipient who blocked or muted the actor (or is blocked by them), or for a kind the
recipient turned off.

Marking notifications read pushes an "unread" event ({"unread": n}) on the stream, so every
open tab of the reader updates its badge.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import User
from smile.kit.db import utcnow
from smile.kit.errors import Invalid
from smile.kit.pagination import keyset, page_of
from smile.social import hooks
from smile.social.models import NOTIFICATION_KINDS, Notification, NotificationPref, Post
from smile.social.notifications.schemas import NotificationOut, NotificationPage, PostExcerpt
from smile.social.realtime import service as realtime
from smile.social.schemas import AuthorOut
from smile.social.visibility import blocked_between, muted_by, visible_posts

TEXTS = {
    "follow": "started following you",
    "follow_request": "asked to follow you",
    "mention": "mentioned you",
    "comment": "commented on your post",
    "reaction": "reacted to your post",
    "repost": "reposted your post",
    "quote": "quoted your post",
    "poll_ended": "'s poll has ended",
    "message": "sent you a message",
    "agent_paused": "paused: its daily credit budget or your wallet ran out",
}
EXCERPT = 140


async def notify(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    kind: str,
    actor_id: uuid.UUID | None,
    post_id: uuid.UUID | None = None,
    comment_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
) -> Notification | None:
    """Tell `user_id` about something `actor_id` did; returns the notification, or None when skipped."""
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if actor_id == user_id:
        return None
    recipient_ok = select(User.id).where(User.id == user_id, User.status == "active")
    if actor_id is not None:
        recipient_ok = recipient_ok.where(~blocked_between(user_id, actor_id), ~muted_by(user_id, actor_id))
    recipient_ok = recipient_ok.where(
        ~select(NotificationPref.user_id)
        .where(NotificationPref.user_id == user_id, NotificationPref.kind == kind, NotificationPref.enabled.is_(False))
        .exists()
    )
    if await db.scalar(recipient_ok) is None:
        return None
    note = Notification(
        user_id=user_id,
        kind=kind,
        actor_id=actor_id,
        post_id=post_id,
        comment_id=comment_id,
        conversation_id=conversation_id,
    )
    db.add(note)
    await db.flush()
    actor = await db.get(User, actor_id) if actor_id else None
    [out] = await _render(db, user_id, [(note, actor)])
    await realtime.emit(
        db,
        [user_id],
        "notification",
        {"notification": out.model_dump(mode="json"), "unread": await unread_count(db, user_id)},
    )
    if kind in hooks.KINDS and kind != "message":  # messages are announced per message by messages.send
        await hooks.emit(db, hooks.Event(kind, user_id, actor_id, post_id=post_id, comment_id=comment_id))
    return note


def _mine(user_id: uuid.UUID):
    """The user's notifications, minus those by accounts blocked either way since."""
    return (
        select(Notification, User)
        .outerjoin(User, User.id == Notification.actor_id)
        .where(
            Notification.user_id == user_id,
            or_(Notification.actor_id.is_(None), ~blocked_between(user_id, Notification.actor_id)),
        )
    )


async def _render(db: AsyncSession, user_id: uuid.UUID, rows) -> list[NotificationOut]:
    post_ids = {note.post_id for note, _ in rows if note.post_id}
    posts = {}
    if post_ids:
        posts = {p.id: p for p in await db.scalars(visible_posts(user_id).where(Post.id.in_(post_ids)))}
    out = []
    for note, actor in rows:
        post = posts.get(note.post_id)
        name = actor.display_name if actor else "Someone"
        text = TEXTS.get(note.kind, note.kind)
        if note.kind == "mention" and note.comment_id:
            text = "mentioned you in a comment"
        if note.kind == "poll_ended" and actor is None:
            name, text = "A poll you took part in", "has ended"
        out.append(
            NotificationOut(
                id=note.id,
                kind=note.kind,
                text=f"{name}{text}" if text.startswith("'") else f"{name} {text}",
                actor=AuthorOut.of(actor) if actor else None,
                post=PostExcerpt(id=post.id, excerpt=_excerpt(post.body)) if post else None,
                comment_id=note.comment_id,
                conversation_id=note.conversation_id,
                read=note.read_at is not None,
                created_at=note.created_at,
            )
        )
    return out


async def get_one(db: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID) -> NotificationOut | None:
    row = (await db.execute(_mine(user_id).where(Notification.id == notification_id))).first()
    return (await _render(db, user_id, [(row[0], row[1])]))[0] if row else None


def _excerpt(body: str) -> str:
    body = " ".join((body or "").split())
    return body if len(body) <= EXCERPT else body[: EXCERPT - 1] + "…"


async def list_notifications(db: AsyncSession, user_id: uuid.UUID, cursor: str | None, limit: int) -> NotificationPage:
    rows = (await db.execute(keyset(_mine(user_id), Notification.id, cursor, limit))).all()
    rows, next_cursor = page_of(list(rows), limit, id_of=lambda row: row[0].id)
    items = await _render(db, user_id, [(row[0], row[1]) for row in rows])
    return NotificationPage(items=items, next_cursor=next_cursor, unread=await unread_count(db, user_id))


async def unread_count(db: AsyncSession, user_id: uuid.UUID) -> int:
    return (
        await db.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.read_at.is_(None),
                or_(Notification.actor_id.is_(None), ~blocked_between(user_id, Notification.actor_id)),
            )
        )
        or 0
    )


async def mark_read(db: AsyncSession, user_id: uuid.UUID, ids: list[uuid.UUID] | None, everything: bool) -> int:
    """Mark some (or all) of the user's notifications read; returns the new unread count."""
    if not everything and not ids:
        raise Invalid("Send the ids to mark read, or all: true.", fields={"ids": "required"})
    stmt = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if not everything:
        stmt = stmt.where(Notification.id.in_(ids))
    return await _marked(db, user_id, await db.execute(stmt.values(read_at=utcnow())))


async def mark_conversation_read(db: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
    await _marked(
        db,
        user_id,
        await db.execute(
            update(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.conversation_id == conversation_id,
                Notification.read_at.is_(None),
            )
            .values(read_at=utcnow())
        ),
    )


async def _marked(db: AsyncSession, user_id: uuid.UUID, result) -> int:
    """The new unread count; pushed to the reader's open tabs when something changed."""
    unread = await unread_count(db, user_id)
    if result.rowcount:
        await realtime.emit(db, [user_id], "unread", {"unread": unread})
    return unread


async def has_unread(db: AsyncSession, user_id: uuid.UUID, kind: str, conversation_id: uuid.UUID) -> bool:
    return bool(
        await db.scalar(
            select(
                select(Notification.id)
                .where(
                    Notification.user_id == user_id,
                    Notification.kind == kind,
                    Notification.read_at.is_(None),
                    Notification.conversation_id == conversation_id,
                )
                .exists()
            )
        )
    )


async def get_preferences(db: AsyncSession, user_id: uuid.UUID) -> dict[str, bool]:
    prefs = {kind: True for kind in NOTIFICATION_KINDS}
    rows = await db.execute(
        select(NotificationPref.kind, NotificationPref.enabled).where(NotificationPref.user_id == user_id)
    )
    prefs.update({kind: enabled for kind, enabled in rows if kind in prefs})
    return prefs


async def set_preferences(db: AsyncSession, user_id: uuid.UUID, changes: dict[str, bool]) -> dict[str, bool]:
    unknown = sorted(set(changes) - set(NOTIFICATION_KINDS))
    if unknown:
        raise Invalid(
            f"Unknown notification kind(s): {', '.join(unknown)}. Known: {', '.join(NOTIFICATION_KINDS)}.",
            fields={k: "unknown kind" for k in unknown},
        )
    if changes:
        stmt = insert(NotificationPref).values(
            [{"user_id": user_id, "kind": kind, "enabled": bool(on)} for kind, on in changes.items()]
        )
        await db.execute(
            stmt.on_conflict_do_update(index_elements=["user_id", "kind"], set_={"enabled": stmt.excluded.enabled})
        )
    return await get_preferences(db, user_id)
