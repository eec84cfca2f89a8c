"""Notifications: stored, counted, marked read, pushed live. (Engineer S3 completes prefs and reads.)"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from smile.social.models import Notification
from smile.social.realtime import service as realtime


async def notify(db: AsyncSession, *, user_id: uuid.UUID, kind: str, actor_id: uuid.UUID | None,
                 post_id: uuid.UUID | None = None, comment_id: uuid.UUID | None = None,
                 conversation_id: uuid.UUID | None = None) -> None:
    """Tell `user_id` about something `actor_id` did (skipped for oneself)."""
    if actor_id == user_id:
        return
    note = Notification(user_id=user_id, kind=kind, actor_id=actor_id, post_id=post_id,
                        comment_id=comment_id, conversation_id=conversation_id)
    db.add(note)
    await db.flush()
    await realtime.emit(db, [user_id], "notification", {"id": str(note.id), "kind": kind})
