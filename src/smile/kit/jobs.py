"""Background jobs on procrastinate (PostgreSQL-backed).

Tasks are declared on `job_app` by each domain's tasks.py. `defer()` inserts the job
through the caller's own database connection, so the job exists exactly when the
caller's transaction commits.
"""

from __future__ import annotations

from typing import Any

import procrastinate
from procrastinate import RetryStrategy
from sqlalchemy.ext.asyncio import AsyncSession

from smile.kit.db import libpq_url

job_app = procrastinate.App(connector=procrastinate.PsycopgConnector())

# Transient failures (SMTP down, network) retry with exponential backoff.
RETRY = RetryStrategy(max_attempts=8, exponential_wait=2)


def configure(database_url: str, max_size: int = 4) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(conninfo=libpq_url(database_url), min_size=1, max_size=max_size)
    job_app.connector = connector
    job_app.job_manager.connector = connector
    return job_app


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
