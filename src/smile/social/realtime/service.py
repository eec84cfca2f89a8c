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

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from smile.kit import realtime as bus
from smile.social.models import StreamEvent

KINDS = ("notification", "message", "typing", "read", "post", "unread")
KEEP_DAYS = 7
CATCH_UP_LIMIT = 500


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    return json.loads(bus.dumps(payload))


async def emit(db: AsyncSession, user_ids: Iterable[uuid.UUID], kind: str, payload: dict[str, Any]) -> None:
    """Queue `kind` with a JSON-able `payload` (uuids and datetimes become strings) for each recipient."""
    recipients = list(dict.fromkeys(u if isinstance(u, uuid.UUID) else uuid.UUID(str(u)) for u in user_ids))
    if recipients:
        await emit_to(db, _LISTED, {"recipients": recipients}, kind, payload)


_LISTED = "SELECT r.user_id FROM unnest(CAST(:recipients AS uuid[])) WITH ORDINALITY AS r(user_id, n) ORDER BY r.n"
INLINE = 30  # at most this many events travel on the bus in full; more go as an id range


async def emit_to(db: AsyncSession, recipients: str, params: dict[str, Any], kind: str, payload: dict[str, Any]) -> int:
    """Like `emit`, for recipients chosen by SQL: `recipients` is a SELECT (or an INSERT … RETURNING)
    of one `user_id` column, one row per recipient, written in code (never from input); `params` are its
    bind values. The events are written with one INSERT … SELECT. Returns how many were queued."""
    data = _jsonable(payload)
    stmt = text(f"""
        WITH recipients AS ({recipients}),
        events AS (INSERT INTO stream_events (user_id, kind, payload)
                   SELECT user_id, :event_kind, :event_payload FROM recipients RETURNING id, user_id)
        SELECT count(*) AS n, min(id) AS low, max(id) AS high,
               (array_agg(id ORDER BY id))[1:{INLINE}] AS ids, (array_agg(user_id ORDER BY id))[1:{INLINE}] AS users
        FROM events""").bindparams(bindparam("event_payload", type_=JSONB))
    row = (await db.execute(stmt, {**params, "event_kind": kind, "event_payload": data})).one()
    if not row.n:
        return 0
    # Too big for NOTIFY: each process reads the id range back for its own connected users.
    message: dict[str, Any] = {"range": [row.low, row.high]}
    if row.n <= INLINE:
        events = [
            {"id": i, "user_id": str(u), "kind": kind, "payload": data} for i, u in zip(row.ids, row.users, strict=True)
        ]
        if len(bus.dumps({"events": events}).encode()) <= bus.MAX_NOTIFY_BYTES:
            message = {"events": events}
    await bus.bus().publish(db, message)
    return row.n


async def ephemeral(db: AsyncSession, user_ids: Iterable[uuid.UUID], kind: str, payload: dict[str, Any]) -> None:
    """Push an event that is not stored (e.g. typing): live clients only, no catch-up."""
    recipients = [str(uid) for uid in dict.fromkeys(user_ids)]
    if recipients:
        await bus.bus().publish(
            db, {"ephemeral": {"user_ids": recipients, "kind": kind, "payload": _jsonable(payload)}}
        )


async def events_after(db: AsyncSession, user_id: uuid.UUID, after: int) -> list[dict[str, Any]]:
    """Stored events for `user_id` with id > `after`, oldest first (at most CATCH_UP_LIMIT)."""
    rows = (
        await db.execute(
            select(StreamEvent.id, StreamEvent.kind, StreamEvent.payload)
            .where(StreamEvent.user_id == user_id, StreamEvent.id > after)
            .order_by(StreamEvent.id)
            .limit(CATCH_UP_LIMIT)
        )
    ).all()
    return [{"id": r.id, "kind": r.kind, "payload": r.payload} for r in rows]


async def events_between(db: AsyncSession, low: int, high: int, user_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """Stored events with low <= id <= high for any of `user_ids`, oldest first."""
    rows = (
        await db.execute(
            select(StreamEvent.id, StreamEvent.user_id, StreamEvent.kind, StreamEvent.payload)
            .where(StreamEvent.id.between(low, high), StreamEvent.user_id.in_(user_ids))
            .order_by(StreamEvent.id)
        )
    ).all()
    return [{"id": r.id, "user_id": str(r.user_id), "kind": r.kind, "payload": r.payload} for r in rows]


async def latest_id(db: AsyncSession, user_id: uuid.UUID) -> int:
    return (
        await db.scalar(select(func.coalesce(func.max(StreamEvent.id), 0)).where(StreamEvent.user_id == user_id)) or 0
    )


async def purge(db: AsyncSession, days: int = KEEP_DAYS) -> int:
    """Delete events older than `days`; returns how many."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    result = await db.execute(delete(StreamEvent).where(StreamEvent.created_at < cutoff))
    return result.rowcount or 0
