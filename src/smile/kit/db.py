"""Engine, sessions and the declarative base."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import psycopg
from sqlalchemy import DateTime, MetaData, event, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from smile.kit.errors import database_unreachable
from smile.kit.ids import new_id

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)


def sqlalchemy_url(url: str) -> str:
    """Accept postgresql:// and postgres:// URLs; use the psycopg 3 driver."""
    scheme, rest = url.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+psycopg"
    return f"{scheme}://{rest}"


def libpq_url(url: str) -> str:
    """The same URL without the SQLAlchemy driver suffix (for psycopg and procrastinate)."""
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}"


class Database:
    """One engine and session factory per process."""

    def __init__(
        self, url: str, pool_size: int = 20, max_overflow: int = 10, on_lost: Callable[[], None] | None = None
    ) -> None:
        """At most pool_size + max_overflow connections; the overflow ones are closed as soon as they are
        returned, so a pool that is too small for the load opens and closes a PostgreSQL backend per
        transaction (at 32 concurrent gateway calls, a pool of 10 cost PostgreSQL 4x its CPU per call).

        Connections that died with the server are dropped: pre-ping replaces a dead one at checkout, and a
        disconnect during a statement invalidates the whole pool. `on_lost()` is called on every error that
        means the database is unreachable (e.g. to restart an embedded server)."""
        self.url = sqlalchemy_url(url)
        # hide_parameters: a failing statement's error (logged by the 500 handler) never carries its
        # parameters, which hold secrets and personal data.
        self.engine: AsyncEngine = create_async_engine(
            self.url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True, hide_parameters=True
        )
        if on_lost is not None:

            def lost(context) -> None:
                if context.is_disconnect or database_unreachable(context.original_exception):
                    on_lost()

            event.listen(self.engine.sync_engine, "handle_error", lost)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits on success, rolls back on error."""
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


async def driver(session: AsyncSession) -> psycopg.AsyncConnection:
    """The psycopg connection under `session`, inside the session's transaction.

    For the few statements every metered AI call runs (the ledger's hold/capture/post, the usage row, the
    key's spend): SQL sent straight through psycopg costs a fraction of the CPU of an ORM-enabled statement
    (about a fifth, measured in docs/benchmarks.md), and psycopg prepares statements it sees repeatedly.
    """
    connection = await session.connection()
    return (await connection.get_raw_connection()).driver_connection


async def fetch_one(session: AsyncSession, sql: str, params: dict | tuple | None = None) -> tuple | None:
    """Run `sql` on the session's connection and return its first row (None when there is none)."""
    cursor = await (await driver(session)).execute(sql, params)
    return await cursor.fetchone() if cursor.description else None


class Last:
    """A statement queued by `at_commit`; `row` is its first row once `commit` has run (None if none)."""

    __slots__ = ("sql", "params", "row")

    def __init__(self, sql: str, params: dict | tuple | None) -> None:
        self.sql, self.params, self.row = sql, params, None


def at_commit(session: AsyncSession, sql: str, params: dict | tuple | None = None) -> Last:
    """Queue `sql` to run as the transaction's last statements, sent with COMMIT by `commit(session)`.

    For UPDATEs of rows many requests share (a wallet, the platform's revenue account, an API key's
    spend): queued, their row locks last only as long as the server takes to run them and commit, never
    across an await in this process, so concurrent requests do not queue behind an event loop that is
    busy elsewhere. A statement that fails aborts the whole transaction. Committing the session any other
    way with statements queued is an error (they would be lost).
    """
    sync = session.sync_session
    queued = sync.info.setdefault("at_commit", [])
    if not event.contains(sync, "before_commit", _refuse_queued):
        event.listen(sync, "before_commit", _refuse_queued)
        event.listen(sync, "after_soft_rollback", _drop_queued)
    queued.append(last := Last(sql, params))
    return last


async def commit(session: AsyncSession) -> None:
    """Send the statements queued by `at_commit` and COMMIT in one pipeline, then finish the session's
    transaction (SQLAlchemy's commit is then a no-op at the server; its after-commit hooks run)."""
    queued = session.sync_session.info.pop("at_commit", [])
    if queued:
        conn = await driver(session)
        async with conn.pipeline():
            cursors = [await conn.execute(q.sql, q.params) for q in queued]
            await conn.commit()
        for q, cursor in zip(queued, cursors, strict=True):
            q.row = await cursor.fetchone() if cursor.description else None
    await session.commit()


def _refuse_queued(sync) -> None:
    if sync.info.get("at_commit"):
        raise RuntimeError("statements queued with at_commit(); commit with smile.kit.db.commit(session)")


def _drop_queued(sync, previous_transaction) -> None:
    if not previous_transaction.nested:
        sync.info.pop("at_commit", None)


_after_commit_tasks: set[asyncio.Task] = set()


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Run `callback()` (as a task) once `session`'s transaction commits; dropped on rollback.

    For side effects outside the database that must not happen for data that never
    commits (e.g. publishing to Redis).
    """
    sync = session.sync_session
    sync.info.setdefault("after_commit", []).append(callback)
    if not event.contains(sync, "after_commit", _run_after_commit):
        event.listen(sync, "after_commit", _run_after_commit)
        event.listen(sync, "after_soft_rollback", _drop_after_commit)


def _run_after_commit(sync) -> None:
    loop = asyncio.get_running_loop()
    for callback in sync.info.pop("after_commit", []):
        task = loop.create_task(callback())
        _after_commit_tasks.add(task)
        task.add_done_callback(_after_commit_done)


def _after_commit_done(task: asyncio.Task) -> None:
    _after_commit_tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger("smile").error("after-commit callback failed", exc_info=task.exception())


def _drop_after_commit(sync, previous_transaction) -> None:
    if not previous_transaction.nested:  # a savepoint rollback keeps the outer transaction's callbacks
        sync.info.pop("after_commit", None)
