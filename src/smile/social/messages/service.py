"""Direct messages: 1:1 and group conversations, read receipts, typing, leave and mute.

Only current members see a conversation (anyone else gets 404). Starting a conversation
or adding someone honours their "who can message me" setting (403 with a clear message)
and blocks (404, so a block is not revealed). Held messages are seen by their sender only.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import User
from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.errors import Forbidden, Invalid, NotFound
from smile.kit.ids import new_id
from smile.kit.pagination import keyset, page_of
from smile.social import hooks, moderation, text
from smile.social.media import service as media_service
from smile.social.media.schemas import MediaOut
from smile.social.messages.schemas import (
    MAX_MEMBERS,
    ConversationCreate,
    ConversationOut,
    ConversationPage,
    MessageCreate,
    MessageOut,
    MessagePage,
)
from smile.social.models import Conversation, ConversationMember, Media, Message
from smile.social.notifications import service as notifications
from smile.social.realtime import service as realtime
from smile.social.schemas import AuthorOut
from smile.social.visibility import blocked_between, follows

NO_CONVERSATION = "This conversation does not exist or you are not a member."
ZERO_ID = uuid.UUID(int=0)


# --- access -----------------------------------------------------------------------------------------


async def membership(
    db: AsyncSession,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
) -> tuple[Conversation, ConversationMember]:
    """The conversation and the caller's current membership; 404 for non-members (and former members)."""
    row = (
        await db.execute(
            select(Conversation, ConversationMember)
            .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
            .where(
                Conversation.id == conversation_id,
                ConversationMember.user_id == user_id,
                ConversationMember.left_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise NotFound(NO_CONVERSATION)
    return row[0], row[1]


async def _users_named(db: AsyncSession, me: User, names: list[str]) -> list[User]:
    names = [n.strip().lstrip("@").lower() for n in names if n.strip()]
    found = {
        u.username.lower(): u
        for u in await db.scalars(select(User).where(func.lower(User.username).in_(names), User.status == "active"))
    }
    users = []
    for name in dict.fromkeys(names):
        user = found.get(name)
        if user is None:
            raise NotFound(f"There is no account named @{name}.", fields={"member_usernames": "unknown"})
        if user.id != me.id:
            users.append(user)
    if not users:
        raise Invalid("Name at least one other person to talk with.", fields={"member_usernames": "only you"})
    return users


async def check_can_message(db: AsyncSession, sender: User, recipient: User) -> None:
    """Raise unless `recipient` accepts messages from `sender` (404 when blocked either way)."""
    if await db.scalar(select(blocked_between(sender.id, recipient.id))):
        raise NotFound(f"There is no account named @{recipient.username}.")
    policy = recipient.who_can_message
    if policy == "everyone":
        return
    if policy == "followers":  # "People who follow me": the sender follows the recipient
        allowed = await db.scalar(select(follows(sender.id, recipient.id)))
    elif policy == "following":  # "People I follow": the recipient follows the sender
        allowed = await db.scalar(select(follows(recipient.id, sender.id)))
    else:  # "nobody"
        allowed = False
    if not allowed:
        raise Forbidden(f"@{recipient.username} does not accept messages from you.", code="messages_not_accepted")


async def _others(db: AsyncSession, conversation_id: uuid.UUID, me: uuid.UUID) -> list[ConversationMember]:
    """Current members other than me who are not blocked with me either way."""
    return list(
        await db.scalars(
            select(ConversationMember).where(
                ConversationMember.conversation_id == conversation_id,
                ConversationMember.user_id != me,
                ConversationMember.left_at.is_(None),
                ~blocked_between(me, ConversationMember.user_id),
            )
        )
    )


def _visible_messages(me: uuid.UUID):
    """Messages the viewer may read: not deleted; visible or their own; not by someone blocked either way."""
    return and_(
        Message.deleted_at.is_(None),
        or_(Message.status == "visible", Message.sender_id == me),
        or_(Message.sender_id.is_(None), Message.sender_id == me, ~blocked_between(me, Message.sender_id)),
    )


# --- conversations ----------------------------------------------------------------------------------


async def start(db: AsyncSession, me: User, data: ConversationCreate) -> ConversationOut:
    """Start a 1:1 conversation (or reopen the existing one) or a group."""
    others = await _users_named(db, me, data.member_usernames)
    if len(others) + 1 > MAX_MEMBERS:
        raise Invalid(f"A conversation has at most {MAX_MEMBERS} members.", fields={"member_usernames": "too many"})
    for other in others:
        await check_can_message(db, me, other)
    if len(others) == 1 and not data.title:
        other = others[0]
        key = ":".join(sorted((str(me.id), str(other.id))))
        await db.execute(
            insert(Conversation)
            .values(id=new_id(), kind="direct", title="", created_by=me.id, direct_key=key)
            .on_conflict_do_nothing(index_elements=["direct_key"])
        )
        conversation = await db.scalar(select(Conversation).where(Conversation.direct_key == key))
        await _join(db, conversation.id, [me.id, other.id])
    else:
        conversation = Conversation(kind="group", title=(data.title or "").strip(), created_by=me.id)
        db.add(conversation)
        await db.flush()
        await _join(db, conversation.id, [me.id, *(o.id for o in others)])
    return await get(db, me.id, conversation.id)


async def _join(db: AsyncSession, conversation_id: uuid.UUID, user_ids: list[uuid.UUID]) -> None:
    stmt = insert(ConversationMember).values(
        [
            {"conversation_id": conversation_id, "user_id": uid, "muted": False, "created_at": utcnow()}
            for uid in user_ids
        ]
    )
    await db.execute(stmt.on_conflict_do_update(index_elements=["conversation_id", "user_id"], set_={"left_at": None}))


async def add_members(db: AsyncSession, me: User, conversation_id: uuid.UUID, usernames: list[str]) -> ConversationOut:
    conversation, _ = await membership(db, me.id, conversation_id)
    if conversation.kind != "group":
        raise Invalid("Members can only be added to group conversations; start a group instead.")
    if conversation.created_by != me.id:
        raise Forbidden("Only the person who created this group can add members.")
    others = await _users_named(db, me, usernames)
    for other in others:
        await check_can_message(db, me, other)
    current = await db.scalar(
        select(func.count()).where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.left_at.is_(None),
            ConversationMember.user_id.not_in([o.id for o in others]),
        )
    )
    if current + len(others) > MAX_MEMBERS:
        raise Invalid(f"A conversation has at most {MAX_MEMBERS} members.", fields={"usernames": "too many"})
    await _join(db, conversation_id, [o.id for o in others])
    return await get(db, me.id, conversation_id)


async def leave(db: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID) -> None:
    """Leave: the conversation disappears for me; the others keep its history."""
    _, member = await membership(db, me, conversation_id)
    member.left_at = utcnow()
    await db.flush()


async def mute(db: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID, muted: bool) -> ConversationOut:
    """Muted conversations still deliver messages but create no notifications."""
    _, member = await membership(db, me, conversation_id)
    member.muted = muted
    await db.flush()
    return await get(db, me, conversation_id)


async def get(db: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID) -> ConversationOut:
    conversation, _ = await membership(db, me, conversation_id)
    [out] = await _render(db, me, [conversation])
    return out


def _encode(at: dt.datetime, conversation_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{conversation_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        at, cid = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        return dt.datetime.fromisoformat(at), uuid.UUID(cid)
    except (ValueError, UnicodeDecodeError):
        raise Invalid(
            "The cursor is not valid; use next_cursor from a previous page.", fields={"cursor": "invalid"}
        ) from None


async def list_conversations(db: AsyncSession, me: uuid.UUID, cursor: str | None, limit: int) -> ConversationPage:
    """My conversations, most recently active first."""
    sort = func.coalesce(Conversation.last_message_at, Conversation.created_at)
    stmt = (
        select(Conversation, sort.label("sort"))
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(ConversationMember.user_id == me, ConversationMember.left_at.is_(None))
    )
    if cursor:
        stmt = stmt.where(tuple_(sort, Conversation.id) < tuple_(*_decode(cursor)))
    rows = (await db.execute(stmt.order_by(sort.desc(), Conversation.id.desc()).limit(limit + 1))).all()
    next_cursor = _encode(rows[limit - 1].sort, rows[limit - 1][0].id) if len(rows) > limit else None
    return ConversationPage(items=await _render(db, me, [r[0] for r in rows[:limit]]), next_cursor=next_cursor)


async def _render(db: AsyncSession, me: uuid.UUID, conversations: list[Conversation]) -> list[ConversationOut]:
    ids = [c.id for c in conversations]
    if not ids:
        return []
    members: dict[uuid.UUID, list[tuple[ConversationMember, User]]] = {cid: [] for cid in ids}
    for member, user in (
        await db.execute(
            select(ConversationMember, User)
            .join(User, User.id == ConversationMember.user_id)
            .where(ConversationMember.conversation_id.in_(ids), ConversationMember.left_at.is_(None))
            .order_by(ConversationMember.created_at)
        )
    ).all():
        members[member.conversation_id].append((member, user))
    last_rows = (
        (
            await db.execute(
                select(Message)
                .where(Message.conversation_id.in_(ids), _visible_messages(me))
                .distinct(Message.conversation_id)
                .order_by(Message.conversation_id, Message.id.desc())
            )
        )
        .scalars()
        .all()
    )
    last = {m.conversation_id: m for m in last_rows}
    rendered = {m.id: m for m in await _messages_out(db, list(last.values()))}
    mine = select(ConversationMember).where(ConversationMember.user_id == me).subquery()
    unread = dict(
        (
            await db.execute(
                select(Message.conversation_id, func.count())
                .join(mine, mine.c.conversation_id == Message.conversation_id)
                .where(
                    Message.conversation_id.in_(ids),
                    _visible_messages(me),
                    Message.sender_id != me,
                    Message.id > func.coalesce(mine.c.last_read_message_id, ZERO_ID),
                )
                .group_by(Message.conversation_id)
            )
        ).all()
    )
    out = []
    for c in conversations:
        own = next((m for m, _ in members[c.id] if m.user_id == me), None)
        out.append(
            ConversationOut(
                id=c.id,
                kind=c.kind,
                title=c.title,
                created_by=c.created_by,
                members=[AuthorOut.of(u) for _, u in members[c.id]],
                last_message=rendered.get(last[c.id].id) if c.id in last else None,
                last_message_at=c.last_message_at,
                unread=unread.get(c.id, 0),
                muted=bool(own and own.muted),
                read_by={
                    str(m.user_id): m.last_read_message_id
                    for m, _ in members[c.id]
                    if m.user_id != me and m.last_read_message_id
                },
            )
        )
    return out


# --- messages ---------------------------------------------------------------------------------------


async def _messages_out(db: AsyncSession, messages: list[Message]) -> list[MessageOut]:
    if not messages:
        return []
    sender_ids = {m.sender_id for m in messages if m.sender_id}
    senders = {u.id: u for u in await db.scalars(select(User).where(User.id.in_(sender_ids)))} if sender_ids else {}
    media: dict[uuid.UUID, list[MediaOut]] = {}
    for item in await db.scalars(
        select(Media).where(Media.message_id.in_([m.id for m in messages])).order_by(Media.position)
    ):
        media.setdefault(item.message_id, []).append(MediaOut.of(item))
    return [
        MessageOut(
            id=m.id,
            conversation_id=m.conversation_id,
            sender=AuthorOut.of(senders[m.sender_id]) if m.sender_id in senders else None,
            body=m.body,
            body_html=m.body_html,
            status=m.status,
            media=media.get(m.id, []),
            created_at=m.created_at,
            generated_by=m.generated_by,
        )
        for m in messages
    ]


async def list_messages(
    db: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID, cursor: str | None, limit: int
) -> MessagePage:
    """Messages newest first (cursor pagination)."""
    await membership(db, me, conversation_id)
    stmt = select(Message).where(Message.conversation_id == conversation_id, _visible_messages(me))
    rows = list((await db.scalars(keyset(stmt, Message.id, cursor, limit))).all())
    rows, next_cursor = page_of(rows, limit)
    return MessagePage(items=await _messages_out(db, rows), next_cursor=next_cursor)


async def get_message(db: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID) -> MessageOut:
    await membership(db, me, conversation_id)
    message = await db.scalar(
        select(Message).where(
            Message.id == message_id, Message.conversation_id == conversation_id, _visible_messages(me)
        )
    )
    if message is None:
        raise NotFound("This message does not exist in this conversation.")
    [out] = await _messages_out(db, [message])
    return out


async def send(
    db: AsyncSession, me: User, conversation_id: uuid.UUID, data: MessageCreate, generated_by: dict | None = None
) -> MessageOut:
    """Send a message: moderated, pushed live to members, and a notification for those who did not mute.
    `generated_by` (AI provenance) is kept only for AI agents' messages; every member who receives it is
    announced to smile.social.hooks (AI agents answer through it)."""
    conversation, own = await membership(db, me.id, conversation_id)
    settings = runtime.current().settings
    await runtime.current().limiter.hit(
        settings.rate_message, "message", str(me.id), message="You are sending messages too quickly."
    )
    body = data.body.strip()
    if not body and not data.media_ids:
        raise Invalid("Write a message or attach a picture.", fields={"body": "empty"})
    others = await _others(db, conversation_id, me.id)
    if conversation.kind == "direct" and not others:
        raise Forbidden("You can no longer send messages in this conversation.", code="messages_not_accepted")
    verdict = await moderation.check(db, me, body)
    message = Message(
        conversation_id=conversation_id,
        sender_id=me.id,
        body=body,
        body_html=text.render(body)[0] if body else "",
        status=str(verdict),
        generated_by=generated_by if me.is_ai else None,
    )
    db.add(message)
    await db.flush()
    await media_service.attach(db, me.id, data.media_ids, message_id=message.id)
    if verdict == "held":
        await moderation.hold(db, "message", message.id, me.id, verdict.rule)
    [out] = await _messages_out(db, [message])
    own.last_read_message_id = message.id
    recipients = [m for m in others] if verdict == "visible" else []
    if recipients:
        conversation.last_message_at = message.created_at
    await db.flush()
    payload = {"message": out.model_dump(mode="json")}
    await realtime.emit(db, [me.id, *(m.user_id for m in recipients)], "message", payload)
    for member in recipients:
        if not member.muted and not await notifications.has_unread(db, member.user_id, "message", conversation_id):
            await notifications.notify(
                db, user_id=member.user_id, kind="message", actor_id=me.id, conversation_id=conversation_id
            )
    for member in recipients:
        await hooks.emit(
            db, hooks.Event("message", member.user_id, me.id, conversation_id=conversation_id, message_id=message.id)
        )
    return out


async def mark_read(db: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID) -> None:
    """Read receipt: everything up to `message_id` is read; the other members see "Seen"."""
    _, own = await membership(db, me, conversation_id)
    found = await db.scalar(
        select(Message.id).where(
            Message.id == message_id, Message.conversation_id == conversation_id, _visible_messages(me)
        )
    )
    if found is None:
        raise NotFound("This message does not exist in this conversation.")
    if own.last_read_message_id is None or own.last_read_message_id < message_id:
        own.last_read_message_id = message_id
        await db.flush()
        others = await _others(db, conversation_id, me)
        await realtime.emit(
            db,
            [m.user_id for m in others],
            "read",
            {"conversation_id": conversation_id, "user_id": me, "message_id": message_id},
        )
    await notifications.mark_conversation_read(db, me, conversation_id)


async def typing(db: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID) -> None:
    """Tell the other members that I am typing (not stored; silently ignored for non-members)."""
    try:
        await membership(db, me, conversation_id)
    except NotFound:
        return
    user = await db.get(User, me)
    others = await _others(db, conversation_id, me)
    await realtime.ephemeral(
        db,
        [m.user_id for m in others],
        "typing",
        {"conversation_id": conversation_id, "user": AuthorOut.of(user).model_dump(mode="json")},
    )
