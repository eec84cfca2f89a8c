"""Real-time events: stored per recipient for catch-up, pushed live to connected clients.

`emit` is called inside the caller's transaction; the event exists (and is pushed)
only if that transaction commits. (Engineer S3 completes the live push.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.social.models import StreamEvent


async def emit(db: AsyncSession, user_ids: Iterable[uuid.UUID], kind: str, payload: dict[str, Any]) -> None:
    """Queue `kind` with a JSON-able `payload` for each recipient."""
    rows = [{"user_id": uid, "kind": kind, "payload": payload} for uid in dict.fromkeys(user_ids)]
    if rows:
        await db.execute(insert(StreamEvent), rows)
