"""Background jobs: closing expired polls."""

from __future__ import annotations

import structlog

from smile.kit import jobs, runtime
from smile.social.posts import polls

log = structlog.get_logger("smile.social.posts")


@jobs.job_app.periodic(cron="* * * * *")
@jobs.job_app.task(name="posts.close_polls", retry=jobs.RETRY)
async def close_polls(timestamp: int) -> None:
    async with runtime.current().db.session() as db:
        count = await polls.close_expired(db)
    if count:
        log.info("polls_closed", count=count)
