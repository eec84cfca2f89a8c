"""payments: background jobs (and, by importing the service, its payment hooks)."""

from __future__ import annotations

import uuid

import structlog

from smile.billing.payments import events, service  # noqa: F401 - loads the payments service with its tasks
from smile.kit import jobs, runtime

log = structlog.get_logger("smile.billing.payments")


@jobs.job_app.task(name="payments.handle_event", retry=jobs.RETRY)
async def handle_event(event_id: str) -> None:
    """Handle one stored processor event (exactly once; see billing.payments.events)."""
    await events.handle(uuid.UUID(event_id))


@jobs.job_app.periodic(cron="* * * * * */15")
@jobs.job_app.task(name="payments.redeliver", retry=jobs.RETRY)
async def redeliver(timestamp: int) -> None:
    """Re-queue events left unhandled (a worker killed mid-job, retries exhausted): handling is idempotent."""
    age = runtime.current().settings.payment_redeliver_seconds
    async with runtime.current().db.session() as db:
        stale = await events.stale(db, age)
        for event_id in stale:
            await jobs.defer(db, handle_event, event_id=str(event_id))
    if stale:
        log.info("payment_events_redelivered", count=len(stale))
