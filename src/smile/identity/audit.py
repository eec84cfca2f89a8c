"""The audit log: who did what to whom, written in the same transaction as the change."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import AuditEntry


async def record(
    session: AsyncSession,
    actor_id: uuid.UUID | None,
    action: str,
    target_id: uuid.UUID | str | None = None,
    target_type: str = "user",
    ip: str = "",
    **detail: Any,
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id) if target_id else None,
            detail=detail,
            ip=ip,
        )
    )
    await session.flush()
