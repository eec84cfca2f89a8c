"""Real-time events: stored per recipient for catch-up, pushed live to connected clients.

`emit` is called inside the caller's transaction; the event exists (and is pushed)
only if that transaction commits. Small batches travel on the bus in full; large ones
as an id range that each process reads back from stream_events for its own users.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.kit import realtime as bus
from smile.social.models import StreamEvent

KINDS = ("notification", "message", "typing", "read", "post")
KEEP_DAYS = 7
CATCH_UP_LIMIT = 500


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    return json.loads(bus.dumps(payload))


async def emit(db: AsyncSession, user_ids: Iterable[uuid.UUID], kind: str, payload: dict[str, Any]) -> None:
    """Queue `kind` with a JSON-able `payload` (uuids and datetimes become strings) for each recipient."""
    recipients = list(dict.fromkeys(user_ids))
    if not recipients:
        return
    data = _jsonable(payload)
    rows = (await db.execute(
        insert(StreamEvent).returning(StreamEvent.id, StreamEvent.user_id),
        [{"user_id": uid, "kind": kind, "payload": data} for uid in recipients],
    )).all()
    events = [{"id": row.id, "user_id": str(row.user_id), "kind": kind, "payload": data} for row in rows]
    message: dict[str, Any] = {"events": events}
    if len(bus.dumps(message).encode()) > bus.MAX_NOTIFY_BYTES:
        # Too big for NOTIFY: each process reads the id range back for its own connected users.
        message = {"range": [min(r.id for r in rows), max(r.id for r in rows)]}
    await bus.bus().publish(db, message)


async def ephemeral(db: AsyncSession, user_ids: Iterable[uuid.UUID], kind: str, payload: dict[str, Any]) -> None:
    """Push an event that is not stored (e.g. typing): live clients only, no catch-up."""
    recipients = [str(uid) for uid in dict.fromkeys(user_ids)]
    if recipients:
        await bus.bus().publish(db, {"ephemeral": {"user_ids": recipients, "kind": kind,
                                                   "payload": _jsonable(payload)}})


async def events_after(db: AsyncSession, user_id: uuid.UUID, after: int) -> list[dict[str, Any]]:
    """Stored events for `user_id` with id > `after`, oldest first (at most CATCH_UP_LIMIT)."""
    rows = (await db.execute(
        select(StreamEvent.id, StreamEvent.kind, StreamEvent.payload)
        .where(StreamEvent.user_id == user_id, StreamEvent.id > after)
        .order_by(StreamEvent.id).limit(CATCH_UP_LIMIT)
    )).all()
    return [{"id": r.id, "kind": r.kind, "payload": r.payload} for r in rows]


async def events_between(db: AsyncSession, low: int, high: int,
                         user_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """Stored events with low <= id <= high for any of `user_ids`, oldest first."""
    rows = (await db.execute(
        select(StreamEvent.id, StreamEvent.user_id, StreamEvent.kind, StreamEvent.payload)
        .where(StreamEvent.id.between(low, high), StreamEvent.user_id.in_(user_ids))
        .order_by(StreamEvent.id)
    )).all()
    return [{"id": r.id, "user_id": str(r.user_id), "kind": r.kind, "payload": r.payload} for r in rows]


async def latest_id(db: AsyncSession, user_id: uuid.UUID) -> int:
    return await db.scalar(select(func.coalesce(func.max(StreamEvent.id), 0))
                           .where(StreamEvent.user_id == user_id)) or 0


async def purge(db: AsyncSession, days: int = KEEP_DAYS) -> int:
    """Delete events older than `days`; returns how many."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    result = await db.execute(delete(StreamEvent).where(StreamEvent.created_at < cutoff))
    return result.rowcount or 0
