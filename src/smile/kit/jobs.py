"""Background jobs on procrastinate (PostgreSQL-backed).

Tasks are declared on `job_app` by each domain's tasks.py. `defer()` inserts the job
through the caller's own database connection, so the job exists exactly when the
caller's transaction commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import procrastinate
from procrastinate import RetryStrategy
from sqlalchemy.ext.asyncio import AsyncSession

from smile.kit.db import libpq_url
from smile.kit.errors import database_unreachable

job_app = procrastinate.App(connector=procrastinate.PsycopgConnector())

# Transient failures (SMTP down, network) retry with exponential backoff.
RETRY = RetryStrategy(max_attempts=8, exponential_wait=2)


def configure(database_url: str, max_size: int = 4) -> procrastinate.App:
    # timeout: how long a worker query waits for a pooled connection (a worker whose database went away
    # gives up after this long, and run_worker starts a new one)
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url), min_size=1, max_size=max_size, timeout=10
    )
    job_app.connector = connector
    job_app.job_manager.connector = connector
    return job_app


async def run_worker(on_failure: Callable[[], None] | None = None, **options: Any) -> None:
    """Run a worker on the open job_app until this is cancelled (procrastinate then stops it gracefully).

    procrastinate stops a worker whose database connection fails (it returns or raises); this logs it,
    calls `on_failure()` (e.g. to restart an embedded server), replaces the connection pool (the old one
    would reconnect only after its own backoff, up to minutes) and runs a new worker after a backoff
    (1 s doubling to 30 s, back to 1 s once a worker ran for a minute). Pass install_signal_handlers=False:
    a signal must cancel this, not stop one worker."""
    log = logging.getLogger("smile.jobs")
    delay = 1.0
    while True:
        started = time.monotonic()
        try:
            await job_app.connector.open_async()  # a no-op unless the pool was dropped below
            await job_app.run_worker_async(**options)
            reason = "it stopped"
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            reason = repr(exc.__cause__ or exc)
        if time.monotonic() - started > 60:
            delay = 1.0
        log.warning("job worker stopped (%s); starting a new one in %.0f s", reason, delay)
        if on_failure is not None:
            on_failure()
        with contextlib.suppress(Exception):
            await job_app.connector.close_async()
        job_app.connector._async_pool = None  # close_async keeps a pool it could not close
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)


async def defer(session: AsyncSession, task: procrastinate.tasks.Task, **kwargs: Any) -> None:
    """Enqueue `task(**kwargs)` inside the session's transaction."""
    options: dict[str, Any] = {}
    for key in ("schedule_in", "schedule_at", "queueing_lock", "lock", "priority"):
        if key in kwargs:
            options[key] = kwargs.pop(key)
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await task.configure(connection=raw.driver_connection, **options).defer_async(**kwargs)


def schema_sql() -> str:
    """The procrastinate schema, applied by our first migration."""
    return procrastinate.App(connector=procrastinate.PsycopgConnector()).schema_manager.get_schema()
