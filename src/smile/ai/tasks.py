"""AI jobs: close the usage rows a dead process left `pending`.

A call writes its row `pending` with a ledger hold, then settles it exactly once (service._Call.settle).
If the process dies in between, the hold expires by itself (ledger.expire_holds) but the row would stay
`pending` for ever. Every five minutes, rows still pending 5 minutes past their hold's lifetime become
`abandoned`, charged nothing. The claim is settle's own `UPDATE ... WHERE status = 'pending'`, so a late
settle and the sweep cannot both win: whichever commits second changes nothing.
"""

from __future__ import annotations

import datetime as dt

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from smile.ai.models import AiUsage
from smile.billing.ledger import service as ledger
from smile.kit import jobs, runtime
from smile.kit.db import utcnow

log = structlog.get_logger("smile.ai")
GRACE = dt.timedelta(minutes=5)  # past the hold's lifetime, so a slow call still settles first
ABANDONED = (
    "The server stopped before this request was settled; nothing was charged and the credits "
    "reserved for it were released."
)


async def abandon_stale(db: AsyncSession, cutoff: dt.datetime, batch: int = 500) -> int:
    """Mark up to `batch` rows pending since before `cutoff` abandoned and release their holds."""
    stale = (
        select(AiUsage.id)
        .where(AiUsage.status == "pending", AiUsage.created_at < cutoff)
        .order_by(AiUsage.created_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    holds = list(
        await db.scalars(
            update(AiUsage)
            .where(AiUsage.id.in_(stale), AiUsage.status == "pending")
            .values(status="abandoned", error=ABANDONED, credits=0, settled_at=utcnow())
            .returning(AiUsage.hold_id)
        )
    )
    for hold_id in holds:
        if hold_id is not None:
            await ledger.release(db, hold_id)  # False when ledger.expire_holds got there first
    return len(holds)


@jobs.job_app.periodic(cron="*/5 * * * *")
@jobs.job_app.task(name="ai.sweep_pending", retry=jobs.RETRY)
async def sweep_pending(timestamp: int) -> int:
    """Abandon rows pending since before `timestamp` (the schedule time) minus the hold's lifetime and GRACE."""
    hold = dt.timedelta(minutes=runtime.current().settings.ai_hold_minutes)
    cutoff = dt.datetime.fromtimestamp(timestamp, dt.UTC) - hold - GRACE
    abandoned = 0
    async with runtime.current().db.session() as db:
        while batch := await abandon_stale(db, cutoff):
            abandoned += batch
    if abandoned:
        log.warning("ai_usage_abandoned", count=abandoned)
    return abandoned
