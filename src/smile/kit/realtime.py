"""The real-time bus: JSON messages published by one server process reach every process.

Two backends behind one interface:
- PostgreSQL (default): `publish` runs `pg_notify` inside the caller's transaction, so the
  message goes out exactly when the data commits; each process keeps one dedicated
  connection LISTENing on the channel (reconnecting with backoff).
- Redis (when SMILE_REDIS_URL is set): `publish` sends on a Redis channel after the
  caller's transaction commits; each process subscribes to it.

Subscribers are plain callables taking the message dict; they must not block. After the
listener reconnects, subscribers receive {"resync": true} (messages may have been missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import psycopg
import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.kit import runtime
from smile.kit.db import after_commit, libpq_url

log = structlog.get_logger("smile.realtime")

CHANNEL = "smile_stream"
MAX_NOTIFY_BYTES = 7000  # PostgreSQL's NOTIFY payload limit is 8000 bytes

Handler = Callable[[dict[str, Any]], None]


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), default=str)


class Bus:
    """One per process: publishes messages and fans incoming ones out to local handlers."""

    def __init__(self, database_url: str, redis_url: str | None = None) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.backend = "redis" if redis_url else "postgres"
        self.handlers: list[Handler] = []
        self._task: asyncio.Task | None = None
        self._listening = asyncio.Event()
        self._redis = None

    async def publish(self, session: AsyncSession, message: dict[str, Any]) -> None:
        """Send `message` to every process once `session`'s transaction commits."""
        data = dumps(message)
        if self.redis_url:
            after_commit(session, lambda: self._redis_publish(data))
        else:
            if len(data.encode()) > 7900:
                raise ValueError("bus message too large for NOTIFY; send references instead")
            await session.execute(select(func.pg_notify(CHANNEL, data)))

    async def _redis_publish(self, data: str) -> None:
        if self._redis is None:
            import redis.asyncio as redis

            self._redis = redis.from_url(self.redis_url)
        await self._redis.publish(CHANNEL, data)

    async def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Register `handler` (starting the listener if needed); returns an unsubscribe function."""
        self.handlers.append(handler)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="realtime-bus")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 10)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self.handlers.remove(handler)

        return unsubscribe

    def dispatch(self, message: dict[str, Any]) -> None:
        for handler in list(self.handlers):
            try:
                handler(message)
            except Exception:
                log.exception("realtime_handler_failed")

    async def _listen(self) -> None:
        delay, first = 0.2, True
        while True:
            try:
                source = self._redis_messages() if self.redis_url else self._pg_messages()
                async for raw in source:
                    if raw is None:  # connected
                        self._listening.set()
                        delay = 0.2
                        if not first:
                            self.dispatch({"resync": True})
                        first = False
                        continue
                    try:
                        self.dispatch(json.loads(raw))
                    except ValueError:
                        log.warning("realtime_bad_message")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("realtime_listener_lost", backend=self.backend, error=str(exc), retry_in=delay)
            self._listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)

    async def _pg_messages(self):
        async with await psycopg.AsyncConnection.connect(libpq_url(self.database_url), autocommit=True) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            yield None
            async for note in conn.notifies():
                yield note.payload

    async def _redis_messages(self):
        import redis.asyncio as redis

        client = redis.from_url(self.redis_url)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                yield None
                async for item in pubsub.listen():
                    if item.get("type") == "message":
                        yield item["data"]
        finally:
            await client.aclose()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


_bus: Bus | None = None
_bus_runtime: object | None = None


def bus() -> Bus:
    """This process's bus, for the current runtime."""
    global _bus, _bus_runtime
    rt = runtime.current()
    if _bus is None or _bus_runtime is not rt:
        _bus, _bus_runtime = Bus(rt.database_url, rt.settings.redis_url), rt
    return _bus


async def close() -> None:
    global _bus
    if _bus is not None:
        await _bus.close()
        _bus = None
