"""The hub's part of a data export and of an erasure (registered with identity's GDPR registry).

Export: the person's API keys (never their hashes). Erasure: the keys are deleted, so none of them works
again; the usage rows they made stay with the ai module (amounts, no text).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.hub.models import ApiKey
from smile.identity.models import User
from smile.identity.profile import gdpr


async def export(db: AsyncSession, user: User) -> dict[str, Any]:
    keys = await db.scalars(select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.id))
    return {
        "api_keys": [
            {c.key: getattr(k, c.key) for c in ApiKey.__mapper__.column_attrs if c.key != "key_hash"} for k in keys
        ]
    }


async def erase(db: AsyncSession, user: User) -> list[str]:
    await db.execute(delete(ApiKey).where(ApiKey.user_id == user.id))
    return []


gdpr.register("hub", export=export, erase=erase)
