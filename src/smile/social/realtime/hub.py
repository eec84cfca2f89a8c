"""This process's WebSocket clients, fed by the bus.

Each client gets only events whose recipient (stream_events.user_id) is its user. A
client first receives what it missed after its cursor, then live events, in order and
without duplicates (events that race the catch-up are buffered until it is done).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from typing import Any

import structlog

from smile.kit import realtime as bus
from smile.kit import runtime
from smile.social.realtime import service

log = structlog.get_logger("smile.realtime")

QUEUE_SIZE = 2000


class Client:
    """One WebSocket connection of one user."""

    def __init__(self, user_id: uuid.UUID, cursor: int | None) -> None:
        self.user_id = user_id
        self.cursor = cursor or 0
        self.wants_backlog = cursor is not None
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_SIZE)
        self.ready = False
        self.pending: list[dict[str, Any]] = []
        self._seen: deque[int] = deque(maxlen=1000)
        self._seen_set: set[int] = set()

    def offer(self, event: dict[str, Any]) -> None:
        if not self.ready:
            self.pending.append(event)
        else:
            self._put(event)

    def _put(self, event: dict[str, Any]) -> None:
        event_id = event.get("id")
        if event_id is not None:
            if event_id in self._seen_set:
                return
            if len(self._seen) == self._seen.maxlen:
                self._seen_set.discard(self._seen[0])
            self._seen.append(event_id)
            self._seen_set.add(event_id)
            self.cursor = max(self.cursor, event_id)
        try:
            self.queue.put_nowait({"id": event_id, "kind": event["kind"], "payload": event["payload"]})
        except asyncio.QueueFull:  # a client that does not read: drop it, it will reconnect with its cursor
            self.close()

    def close(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    async def start(self) -> None:
        """Send the backlog after the cursor (or nothing, without one), then release buffered live events."""
        truncated = False
        async with runtime.current().db.session() as db:
            if not self.wants_backlog:
                self.cursor = await service.latest_id(db, self.user_id)
            while self.wants_backlog:
                backlog = await service.events_after(db, self.user_id, self.cursor)
                for event in backlog:
                    self._put(event)
                if len(backlog) < service.CATCH_UP_LIMIT:
                    break
                if self.queue.qsize() > QUEUE_SIZE - service.CATCH_UP_LIMIT - 10:
                    truncated = True  # too much to replay: the client should reload its pages
                    break
        self.queue.put_nowait({"id": None, "kind": "ready", "payload": {"cursor": self.cursor, "truncated": truncated}})
        self.ready = True
        floor = self.cursor
        for event in self.pending:
            if event.get("id") is None or event["id"] > floor:
                self._put(event)
        self.pending = []

    async def catch_up(self, after: int) -> None:
        """Read events after `after` (our cursor when the bus resynced) from the database; events
        delivered live meanwhile are skipped as already seen."""
        async with runtime.current().db.session() as db:
            for event in await service.events_after(db, self.user_id, after):
                self._put(event)


class Hub:
    def __init__(self) -> None:
        self.clients: dict[uuid.UUID, set[Client]] = {}
        self._bus: bus.Bus | None = None
        self._tasks: set[asyncio.Task] = set()

    async def attach(self, client: Client) -> None:
        self.clients.setdefault(client.user_id, set()).add(client)
        current = bus.bus()
        if self._bus is not current:  # first client, or the runtime (and its bus) changed
            self._bus = current
            await current.subscribe(self.on_message)

    def detach(self, client: Client) -> None:
        group = self.clients.get(client.user_id)
        if group is not None:
            group.discard(client)
            if not group:
                del self.clients[client.user_id]

    def _local(self, user_id: str) -> set[Client]:
        try:
            return self.clients.get(uuid.UUID(user_id), set())
        except ValueError:
            return set()

    def on_message(self, message: dict[str, Any]) -> None:
        for event in message.get("events", ()):
            for client in self._local(event["user_id"]):
                client.offer(event)
        if id_range := message.get("range"):
            self._spawn(self._fetch_range(*id_range))
        if eph := message.get("ephemeral"):
            event = {"id": None, "kind": eph["kind"], "payload": eph["payload"]}
            for user_id in eph.get("user_ids", ()):
                for client in self._local(user_id):
                    client.offer(event)
        if message.get("resync"):
            for group in self.clients.values():
                for client in group:
                    if client.ready:
                        self._spawn(client.catch_up(client.cursor))

    async def _fetch_range(self, low: int, high: int) -> None:
        """A batch too big for the bus: read it back for the users connected here."""
        users = list(self.clients)
        if not users:
            return
        async with runtime.current().db.session() as db:
            events = await service.events_between(db, low, high, users)
        for event in events:
            for client in self._local(event["user_id"]):
                client.offer(event)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


hub = Hub()
