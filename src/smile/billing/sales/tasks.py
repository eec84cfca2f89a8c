"""sales: background jobs (and, by importing the service, its payment hooks).

escrow_release runs every minute and releases every sale whose escrow period ended by the job's
scheduled time; send_payout makes the Stripe Connect transfer of a requested payout.
"""

from __future__ import annotations

import datetime as dt
import uuid

import structlog

from smile.billing.sales import payouts, service
from smile.kit import jobs, runtime

log = structlog.get_logger("smile.billing.sales")


@jobs.job_app.periodic(cron="* * * * *")
@jobs.job_app.task(name="sales.escrow_release", retry=jobs.RETRY)
async def escrow_release(timestamp: int) -> int:
    """Release escrow due by `timestamp` (the periodic schedule time, seconds since the epoch)."""
    now = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    released = 0
    async with runtime.current().db.session() as db:
        while batch := await service.release_due(db, now):
            released += batch
    if released:
        log.info("escrow_released", count=released)
    return released


@jobs.job_app.task(name="sales.send_payout", retry=jobs.RETRY)
async def send_payout(payout_id: str) -> None:
    async with runtime.current().db.session() as db:
        await payouts.send_payout(db, uuid.UUID(payout_id))
