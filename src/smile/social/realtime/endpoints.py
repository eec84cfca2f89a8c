"""GET /api/v1/stream: the one authenticated WebSocket per client.

Authentication happens in the handshake, before the upgrade: the browser's session cookie (same
origin only), or an access token in a header, never in the URL: `Sec-WebSocket-Protocol:
smile.v1, bearer.<token>` (the server answers `smile.v1`) or `Authorization: Bearer <token>`.
Without valid credentials the handshake is refused with HTTP 401 (a bad cursor with 400), in the
usual error shape.

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
from fastapi.responses import JSONResponse

from smile.kit import realtime as bus
from smile.kit import runtime
from smile.kit.errors import error_body
from smile.kit.requests import DBRoute
from smile.social.realtime.auth import subprotocol, websocket_user
from smile.social.realtime.hub import Client, hub

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["social"])
log = structlog.get_logger("smile.realtime")

KEEPALIVE_SECONDS = 25
TYPING_EVERY_SECONDS = 2.0
UNAUTHENTICATED_DETAIL = (
    "Authentication required: sign in, or send the access token in the handshake as "
    "Sec-WebSocket-Protocol: smile.v1, bearer.<token> (or Authorization: Bearer <token>); "
    "tokens in the URL are not accepted."
)


async def _refuse(ws: WebSocket, status: int, code: str, detail: str) -> None:
    """Answer the handshake with a plain HTTP error instead of upgrading."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    await ws.send_denial_response(JSONResponse(error_body(code, detail), status_code=status, headers=headers))


@router.websocket("/stream")
async def stream(ws: WebSocket, cursor: str | None = None) -> None:
    async with runtime.current().db.session() as db:
        user = await websocket_user(ws, db)
    if user is None:
        await _refuse(ws, 401, "unauthorized", UNAUTHENTICATED_DETAIL)
        return
    try:
        after = int(cursor) if cursor not in (None, "") else None
        if after is not None and after < 0:
            raise ValueError
    except ValueError:
        await _refuse(ws, 400, "invalid", "cursor must be the id of the last event received")
        return
    await ws.accept(subprotocol=subprotocol(ws))
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
