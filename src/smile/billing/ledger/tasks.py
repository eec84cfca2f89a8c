"""Ledger jobs: release expired holds every minute."""

from __future__ import annotations

import structlog

from smile.billing.ledger import service
from smile.kit import jobs, runtime

log = structlog.get_logger("smile.billing.ledger")


@jobs.job_app.periodic(cron="* * * * *")
@jobs.job_app.task(name="ledger.expire_holds", retry=jobs.RETRY)
async def expire_holds(timestamp: int) -> None:
    released = 0
    async with runtime.current().db.session() as db:
        while batch := await service.expire_holds(db):
            released += batch
    if released:
        log.info("holds_expired", count=released)
