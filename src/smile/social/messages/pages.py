"""Direct message pages: the conversation list with a new-conversation form, and the live chat."""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from smile.identity.auth import DB, VerifiedUser
from smile.kit.errors import AppError, Invalid
from smile.kit.requests import DBRoute
from smile.social.messages import service
from smile.social.messages.schemas import ConversationCreate, MessageCreate
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)
CHAT_PAGE = 50


def _text(form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.get("/messages", response_class=HTMLResponse)
async def inbox(request: Request, principal: VerifiedUser, db: DB, cursor: str | None = None) -> Response:
    page = await service.list_conversations(db, principal.id, cursor, 30)
    return render(request, "social/messages.html", {"page": page, "form": {}, "error": None})


@router.get("/messages/list", response_class=HTMLResponse)
async def inbox_list(request: Request, principal: VerifiedUser, db: DB) -> Response:
    """The conversation list alone (refreshed live when a message arrives)."""
    page = await service.list_conversations(db, principal.id, None, 30)
    return render(request, "social/messages_list.html", {"page": page})


@router.post("/messages", response_class=HTMLResponse)
async def start(request: Request, principal: VerifiedUser, db: DB) -> Response:
    form = await request.form()
    fields = {"members": _text(form, "members"), "title": _text(form, "title")}
    try:
        data = ConversationCreate(
            member_usernames=[n for n in re.split(r"[\s,]+", fields["members"]) if n], title=fields["title"] or None
        )
        conversation = await service.start(db, principal.user, data)
    except (ValidationError, AppError) as exc:
        message = exc.message if isinstance(exc, AppError) else "Name at least one person (up to 49)."
        page = await service.list_conversations(db, principal.id, None, 30)
        return render(
            request,
            "social/messages.html",
            {"page": page, "form": fields, "error": message},
            status=getattr(exc, "status", 422),
        )
    return redirect(f"/messages/{conversation.id}", request)


@router.get("/messages/{conversation_id}", response_class=HTMLResponse)
async def chat(request: Request, conversation_id: uuid.UUID, principal: VerifiedUser, db: DB) -> Response:
    conversation = await service.get(db, principal.id, conversation_id)
    page = await service.list_messages(db, principal.id, conversation_id, None, CHAT_PAGE)
    messages = list(reversed(page.items))
    theirs = [m for m in messages if m.sender is None or m.sender.id != principal.id]
    if theirs and conversation.unread:
        await service.mark_read(db, principal.id, conversation_id, theirs[-1].id)
    return render(
        request,
        "social/conversation.html",
        {
            "c": conversation,
            "messages": messages,
            "older": page.next_cursor,
            "names": {str(m.id): m.display_name for m in conversation.members},
        },
    )


@router.get("/messages/{conversation_id}/older", response_class=HTMLResponse)
async def older(request: Request, conversation_id: uuid.UUID, principal: VerifiedUser, db: DB, cursor: str) -> Response:
    """The page of messages before `cursor` (oldest first), led by the next "load older" control."""
    page = await service.list_messages(db, principal.id, conversation_id, cursor, CHAT_PAGE)
    return render(
        request,
        "social/conversation_older.html",
        {"conversation_id": conversation_id, "messages": list(reversed(page.items)), "older": page.next_cursor},
    )


@router.get("/messages/{conversation_id}/m/{message_id}", response_class=HTMLResponse)
async def one_message(
    request: Request, conversation_id: uuid.UUID, message_id: uuid.UUID, principal: VerifiedUser, db: DB
) -> Response:
    """One rendered message (the chat fetches it when it arrives over the stream)."""
    message = await service.get_message(db, principal.id, conversation_id, message_id)
    return render(request, "social/conversation_message.html", {"m": message})


@router.post("/messages/{conversation_id}/send", response_class=HTMLResponse)
async def send(request: Request, conversation_id: uuid.UUID, principal: VerifiedUser, db: DB) -> Response:
    form = await request.form()
    try:
        data = MessageCreate(
            body=_text(form, "body")[:5000], media_ids=[m for m in form.getlist("media_id") if isinstance(m, str) and m]
        )
    except ValidationError:
        if not request.headers.get("hx-request"):
            raise Invalid("Attach up to 4 images or 1 video you uploaded.", fields={"media_ids": "invalid"}) from None
        return _send_error(request, "Attach up to 4 images or 1 video you uploaded.")
    try:
        async with db.begin_nested():  # a refused attachment must not leave the message half-sent
            message = await service.send(db, principal.user, conversation_id, data)
    except AppError as exc:
        if exc.status == 404 or not request.headers.get("hx-request"):
            raise
        return _send_error(request, exc.message)
    if request.headers.get("hx-request"):
        return render(request, "social/conversation_message.html", {"m": message})
    return redirect(f"/messages/{conversation_id}", request)


def _send_error(request: Request, message: str) -> Response:
    """The chat form's error, shown under the form (the form keeps what was typed)."""
    return render(
        request,
        "social/conversation_error.html",
        {"error": message},
        headers={"HX-Retarget": "#chat-error", "HX-Reswap": "innerHTML"},
    )


@router.post("/messages/{conversation_id}/members")
async def add_members(request: Request, conversation_id: uuid.UUID, principal: VerifiedUser, db: DB) -> Response:
    form = await request.form()
    names = [n for n in re.split(r"[\s,]+", _text(form, "members")) if n]
    try:
        await service.add_members(db, principal.user, conversation_id, names)
        flash(request, "Added to the group.", "success")
    except AppError as exc:
        if exc.status == 404 and "conversation" in exc.message:
            raise
        flash(request, exc.message, "error")
    return redirect(f"/messages/{conversation_id}", request)


@router.post("/messages/{conversation_id}/leave")
async def leave(request: Request, conversation_id: uuid.UUID, principal: VerifiedUser, db: DB) -> Response:
    await service.leave(db, principal.id, conversation_id)
    flash(request, "You left the conversation.", "success")
    return redirect("/messages", request)


@router.post("/messages/{conversation_id}/mute")
async def mute(request: Request, conversation_id: uuid.UUID, principal: VerifiedUser, db: DB) -> Response:
    conversation = await service.get(db, principal.id, conversation_id)
    await service.mute(db, principal.id, conversation_id, not conversation.muted)
    flash(
        request, "Conversation unmuted." if conversation.muted else "Conversation muted: no notifications.", "success"
    )
    return redirect(f"/messages/{conversation_id}", request)
