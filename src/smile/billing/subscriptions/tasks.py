"""subscriptions: the renewal run every five minutes (and, by importing the service, its payment hooks)."""

from __future__ import annotations

import structlog

from smile.billing.subscriptions import renewals, service  # noqa: F401  (service registers the hooks)
from smile.kit import jobs, runtime

log = structlog.get_logger("smile.billing.subscriptions")

BATCHES = 20  # at most this many batches per run; the next run picks up the rest


@jobs.job_app.periodic(cron="*/5 * * * *")
@jobs.job_app.task(name="subscriptions.renew", retry=jobs.RETRY)
async def renew(timestamp: int) -> None:
    for _ in range(BATCHES):
        async with runtime.current().db.session() as db:
            done = await renewals.run(db)
        if done.charged + done.extended < 200:
            return
