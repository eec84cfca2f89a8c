"""The ai module's part of a data export and of an erasure (registered with identity's GDPR registry).

No prompt or reply is stored. A usage row keeps what accounting needs (model, tokens, credits, status,
times); erasure clears its only free text, the upstream error messages (a provider may quote the prompt).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from smile.ai.models import AiUsage
from smile.identity.models import User
from smile.identity.profile import gdpr

# every attempt keeps its model, provider, outcome and timing; its error message goes
_NO_ERRORS = text(
    "COALESCE((SELECT jsonb_agg(CASE WHEN jsonb_typeof(a) = 'object' THEN a - 'error' ELSE a END) "
    "FROM jsonb_array_elements(ai_usage.attempt_log) a), '[]'::jsonb)"
)


async def export(db: AsyncSession, user: User) -> dict[str, Any]:
    rows = await db.scalars(select(AiUsage).where(AiUsage.user_id == user.id).order_by(AiUsage.id))
    return {
        "usage": [
            {c.key: getattr(r, c.key) for c in AiUsage.__mapper__.column_attrs if c.key != "hold_id"} for r in rows
        ]
    }


async def erase(db: AsyncSession, user: User) -> list[str]:
    await db.execute(
        update(AiUsage)
        .where(AiUsage.user_id == user.id, func.jsonb_typeof(AiUsage.attempt_log) == "array")
        .values(attempt_log=_NO_ERRORS)
        .execution_options(synchronize_session=False)
    )
    await db.execute(
        update(AiUsage)
        .where(AiUsage.user_id == user.id)
        .values(error=None)
        .execution_options(synchronize_session=False)
    )
    return []


gdpr.register("ai", export=export, erase=erase)
