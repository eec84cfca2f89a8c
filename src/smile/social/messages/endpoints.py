"""Direct messages API: conversations (1:1 and groups), messages, read receipts, leave, mute."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Response

from smile.identity.auth import DB, VerifiedUser
from smile.kit.errors import responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from smile.kit.requests import DBRoute
from smile.social.messages import service
from smile.social.messages.schemas import (
    ConversationCreate,
    ConversationOut,
    ConversationPage,
    MembersAdd,
    MessageCreate,
    MessageOut,
    MessagePage,
    MuteSet,
    ReadReceipt,
)

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["social"])
Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


@router.post("/conversations", response_model=ConversationOut, status_code=201, responses=responses(401, 403, 404, 422))
async def start_conversation(body: ConversationCreate, principal: VerifiedUser, db: DB) -> ConversationOut:
    """Start a conversation: one username (and no title) opens the 1:1 conversation, reusing an existing one;
    otherwise a group (up to 50 members). 403 when someone does not accept messages from you."""
    return await service.start(db, principal.user, body)


@router.get("/conversations", response_model=ConversationPage, responses=responses(401, 422))
async def list_conversations(
    principal: VerifiedUser, db: DB, cursor: str | None = None, limit: int = Limit
) -> ConversationPage:
    """Your conversations, most recently active first, with the last message and your unread count."""
    return await service.list_conversations(db, principal.id, cursor, limit)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut, responses=responses(401, 404))
async def get_conversation(conversation_id: uuid.UUID, principal: VerifiedUser, db: DB) -> ConversationOut:
    return await service.get(db, principal.id, conversation_id)


@router.post(
    "/conversations/{conversation_id}/members", response_model=ConversationOut, responses=responses(401, 403, 404, 422)
)
async def add_members(conversation_id: uuid.UUID, body: MembersAdd, principal: VerifiedUser, db: DB) -> ConversationOut:
    """Add people to a group (its creator only)."""
    return await service.add_members(db, principal.user, conversation_id, body.usernames)


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage, responses=responses(401, 404, 422))
async def list_messages(
    conversation_id: uuid.UUID, principal: VerifiedUser, db: DB, cursor: str | None = None, limit: int = Limit
) -> MessagePage:
    """Messages, newest first."""
    return await service.list_messages(db, principal.id, conversation_id, cursor, limit)


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=MessageOut,
    status_code=201,
    responses=responses(401, 403, 404, 422, 429),
)
async def send_message(conversation_id: uuid.UUID, body: MessageCreate, principal: VerifiedUser, db: DB) -> MessageOut:
    """Send a message (text and/or up to 4 uploaded images / 1 video by media id)."""
    return await service.send(db, principal.user, conversation_id, body)


@router.post("/conversations/{conversation_id}/read", status_code=204, responses=responses(401, 404, 422))
async def mark_read(conversation_id: uuid.UUID, body: ReadReceipt, principal: VerifiedUser, db: DB) -> Response:
    """Read receipt: you have read up to this message."""
    await service.mark_read(db, principal.id, conversation_id, body.message_id)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/leave", status_code=204, responses=responses(401, 404))
async def leave(conversation_id: uuid.UUID, principal: VerifiedUser, db: DB) -> Response:
    """Leave the conversation; the other members keep its history."""
    await service.leave(db, principal.id, conversation_id)
    return Response(status_code=204)


@router.put("/conversations/{conversation_id}/mute", response_model=ConversationOut, responses=responses(401, 404))
async def mute(conversation_id: uuid.UUID, body: MuteSet, principal: VerifiedUser, db: DB) -> ConversationOut:
    """Mute (or unmute) notifications for this conversation."""
    return await service.mute(db, principal.id, conversation_id, body.muted)
