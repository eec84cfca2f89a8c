"""Notifications API: list, unread count, mark read, per-kind preferences."""

from __future__ import annotations

from fastapi import APIRouter, Query

from smile.identity.auth import DB, CurrentUser
from smile.kit.errors import responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from smile.kit.requests import DBRoute
from smile.social.notifications import service
from smile.social.notifications.schemas import MarkRead, NotificationPage, UnreadCount

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["social"])


@router.get("/notifications", response_model=NotificationPage, responses=responses(401, 422))
async def list_notifications(
    principal: CurrentUser, db: DB, cursor: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
) -> NotificationPage:
    """Your notifications, newest first, with the unread count."""
    return await service.list_notifications(db, principal.id, cursor, limit)


@router.get("/notifications/unread-count", response_model=UnreadCount, responses=responses(401))
async def unread_count(principal: CurrentUser, db: DB) -> UnreadCount:
    return UnreadCount(unread=await service.unread_count(db, principal.id))


@router.post("/notifications/read", response_model=UnreadCount, responses=responses(401, 422))
async def mark_read(body: MarkRead, principal: CurrentUser, db: DB) -> UnreadCount:
    """Mark the given notifications (or all: true) read; returns the new unread count."""
    return UnreadCount(unread=await service.mark_read(db, principal.id, body.ids, body.all))


@router.get("/notifications/preferences", response_model=dict[str, bool], responses=responses(401))
async def get_preferences(principal: CurrentUser, db: DB) -> dict[str, bool]:
    """Which kinds of notification you receive ({kind: enabled} for every kind)."""
    return await service.get_preferences(db, principal.id)


@router.put("/notifications/preferences", response_model=dict[str, bool], responses=responses(401, 422))
async def set_preferences(body: dict[str, bool], principal: CurrentUser, db: DB) -> dict[str, bool]:
    """Turn kinds on or off, e.g. {"reaction": false}; kinds not sent keep their setting."""
    return await service.set_preferences(db, principal.id, body)
