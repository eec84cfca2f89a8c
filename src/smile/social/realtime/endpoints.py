"""GET /api/v1/stream: the one authenticated WebSocket per client.

Server -> client messages are JSON {"id", "kind", "payload"}: stored events carry their
id (the cursor to reconnect with); "ready" (after the catch-up), "typing", "ping" and
"pong" carry id null. Client -> server: {"type": "typing", "conversation_id": ...} and
{"type": "ping"}.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from smile.kit import realtime as bus
from smile.kit import runtime
from smile.kit.requests import DBRoute
from smile.social.realtime.auth import websocket_user
from smile.social.realtime.hub import Client, hub

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["social"])
log = structlog.get_logger("smile.realtime")

KEEPALIVE_SECONDS = 25
TYPING_EVERY_SECONDS = 2.0
UNAUTHENTICATED = 4401
BAD_REQUEST = 4400


@router.websocket("/stream")
async def stream(ws: WebSocket, access_token: str | None = None, cursor: str | None = None) -> None:
    async with runtime.current().db.session() as db:
        user = await websocket_user(ws, db, access_token)
    await ws.accept()
    if user is None:
        await ws.close(UNAUTHENTICATED, "Authentication required: log in, or pass ?access_token=.")
        return
    try:
        after = int(cursor) if cursor not in (None, "") else None
        if after is not None and after < 0:
            raise ValueError
    except ValueError:
        await ws.close(BAD_REQUEST, "cursor must be the id of the last event received")
        return
    client = Client(user.id, after)
    await hub.attach(client)
    try:
        await client.start()
        tasks = {asyncio.create_task(_write(ws, client)), asyncio.create_task(_read(ws, client))}
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for task in done:
            if (error := task.exception()) is not None and not isinstance(error, (WebSocketDisconnect, OSError)):
                log.warning("stream_closed_on_error", error=repr(error))
    finally:
        hub.detach(client)
        with contextlib.suppress(Exception):
            await ws.close()


async def _write(ws: WebSocket, client: Client) -> None:
    while True:
        try:
            item = await asyncio.wait_for(client.queue.get(), KEEPALIVE_SECONDS)
        except TimeoutError:
            item = {"id": None, "kind": "ping", "payload": {}}
        if item is None:  # the client fell too far behind
            await ws.close(1013, "Too far behind; reconnect with your cursor.")
            return
        await ws.send_text(bus.dumps(item))


async def _read(ws: WebSocket, client: Client) -> None:
    from smile.social.messages import service as messages

    last_typing: dict[uuid.UUID, float] = {}
    while True:
        try:
            raw = await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return
        except KeyError:  # a binary frame: not part of the protocol
            continue
        try:
            message = json.loads(raw)
            kind = message.get("type")
        except (ValueError, AttributeError):
            continue
        if kind == "ping":
            client.offer({"id": None, "kind": "pong", "payload": {}})
        elif kind == "typing":
            try:
                conversation_id = uuid.UUID(str(message.get("conversation_id")))
            except ValueError:
                continue
            now = time.monotonic()
            if now - last_typing.get(conversation_id, 0) < TYPING_EVERY_SECONDS:
                continue
            last_typing[conversation_id] = now
            async with runtime.current().db.session() as db:
                await messages.typing(db, client.user_id, conversation_id)
