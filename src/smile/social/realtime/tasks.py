"""Background jobs for real-time events."""

from __future__ import annotations

import structlog

from smile.kit import jobs, runtime
from smile.social.realtime import service

log = structlog.get_logger("smile.realtime")


@jobs.job_app.periodic(cron="17 * * * *")
@jobs.job_app.task(name="realtime.purge_events", retry=jobs.RETRY)
async def purge_events(timestamp: int) -> None:
    """Drop stream events older than a week (clients that far behind reload instead)."""
    async with runtime.current().db.session() as db:
        count = await service.purge(db)
    if count:
        log.info("stream_events_purged", count=count)
