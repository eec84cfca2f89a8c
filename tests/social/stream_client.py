"""A small synchronous WebSocket client for /api/v1/stream (tests only)."""

from __future__ import annotations

import json
import time
from typing import Self

from websockets.sync.client import connect


class Stream:
    """Signs in with the access token the way a non-browser client does: in the handshake's
    Sec-WebSocket-Protocol header (["smile.v1", "bearer.<token>"]), never in the URL."""

    def __init__(
        self, base_url: str, token: str | None = None, cursor: int | None = None, query: str = "", **kw
    ) -> None:
        url = base_url.replace("http://", "ws://", 1) + "/api/v1/stream"
        params = ([f"cursor={cursor}"] if cursor is not None else []) + ([query] if query else [])
        if params:
            url += "?" + "&".join(params)
        if token:
            kw.setdefault("subprotocols", ["smile.v1", f"bearer.{token}"])
        self.ws = connect(url, open_timeout=10, **kw)
        self.received: list[dict] = []

    def next(self, kind: str | None = None, timeout: float = 5) -> dict:
        """The next message (of `kind`), skipping keepalives; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind or 'message'} within {timeout}s; got {self.received}")
            try:
                message = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                continue
            self.received.append(message)
            if message["kind"] in ("ping", "pong") and kind != message["kind"]:
                continue
            if kind is None or message["kind"] == kind:
                return message

    def nothing(self, kind: str, wait: float = 1.0) -> None:
        """Assert no `kind` message arrives within `wait` seconds."""
        try:
            got = self.next(kind, timeout=wait)
        except AssertionError:
            return
        raise AssertionError(f"unexpected {kind}: {got}")

    def ready(self) -> dict:
        return self.next("ready")

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps(message))

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
