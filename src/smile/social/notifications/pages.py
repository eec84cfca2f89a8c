"""Notification pages: the list (live over the stream), the nav badge, preferences."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from smile.identity.auth import DB, CurrentUser, OptionalUser
from smile.kit.errors import NotFound
from smile.kit.requests import DBRoute
from smile.social.models import NOTIFICATION_KINDS
from smile.social.notifications import service
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)

KIND_LABELS = {
    "follow": "New followers",
    "follow_request": "Follow requests",
    "mention": "Mentions",
    "comment": "Comments on my posts",
    "reaction": "Reactions to my posts",
    "repost": "Reposts",
    "quote": "Quotes",
    "poll_ended": "Polls that ended",
    "message": "Direct messages",
}


@router.get("/notifications", response_class=HTMLResponse)
async def notifications_page(request: Request, principal: CurrentUser, db: DB, cursor: str | None = None) -> Response:
    """The list; opening it marks everything seen (what was unread stays highlighted on this view)."""
    page = await service.list_notifications(db, principal.id, cursor, 30)
    if page.unread:
        await service.mark_read(db, principal.id, None, True)
    return render(request, "social/notifications.html", {"page": page, "cursor": cursor, "nav_unread": 0})


@router.get("/notifications/badge", response_class=HTMLResponse)
async def badge(request: Request, principal: OptionalUser, db: DB) -> Response:
    unread = await service.unread_count(db, principal.id) if principal else 0
    return render(request, "social/notifications_badge.html", {"unread": unread})


@router.get("/notifications/item/{notification_id}", response_class=HTMLResponse)
async def item(request: Request, notification_id: uuid.UUID, principal: CurrentUser, db: DB) -> Response:
    """One rendered notification (the page fetches it when one arrives over the stream)."""
    note = await service.get_one(db, principal.id, notification_id)
    if note is None:
        raise NotFound()
    return render(request, "social/notifications_item.html", {"n": note})


@router.post("/notifications/read-all")
async def read_all(request: Request, principal: CurrentUser, db: DB) -> Response:
    await service.mark_read(db, principal.id, None, True)
    flash(request, "All notifications marked as read.", "success")
    return redirect("/notifications", request)


@router.get("/notifications/settings", response_class=HTMLResponse)
async def settings_page(request: Request, principal: CurrentUser, db: DB) -> Response:
    prefs = await service.get_preferences(db, principal.id)
    return render(request, "social/notifications_settings.html", {"prefs": prefs, "labels": KIND_LABELS})


@router.post("/notifications/settings")
async def settings_save(request: Request, principal: CurrentUser, db: DB) -> Response:
    form = await request.form()
    await service.set_preferences(db, principal.id, {kind: form.get(kind) == "on" for kind in NOTIFICATION_KINDS})
    flash(request, "Notification settings saved.", "success")
    return redirect("/notifications/settings", request)
