"""Test helpers: a live server in a thread, database access, mail, user factories."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from contextlib import closing

import httpx
import psycopg
import pyotp
import uvicorn

STRONG_PASSWORD = "Correct-Horse-42"


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database `name` (query string, e.g. a socket host, kept)."""
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return base + ("?" + query if query else "")


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """uvicorn serving create_app() on a loopback port, in a background thread."""

    def __init__(self, app, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on")
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"server-{self.port}")

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def call(self, coro, timeout: float = 30):
        """Run a coroutine on the server's event loop (for its runtime objects)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


class Mailbox:
    """Reads the emails the app captured to the database."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def wait(self, to: str, subject_contains: str = "", timeout: float = 15, after: int = 0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            with psycopg.connect(self.dsn) as conn:
                rows = conn.execute(
                    'SELECT subject, body, status FROM emails WHERE lower("to") = lower(%s) '
                    "AND subject ILIKE %s ORDER BY id",
                    (to, f"%{subject_contains}%"),
                ).fetchall()
            done = [r for r in rows if r[2] in ("captured", "sent")]
            if len(done) > after:
                subject, body, status = done[-1]
                return {"subject": subject, "body": body, "status": status}
            if time.monotonic() > deadline:
                raise AssertionError(f"no email to {to} ({subject_contains!r}) within {timeout}s; saw {rows}")
            time.sleep(0.05)

    def count(self, to: str) -> int:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute('SELECT count(*) FROM emails WHERE lower("to") = lower(%s)', (to,)).fetchone()[0]

    def code(self, to: str, after: int = 0) -> str:
        body = self.wait(to, "code", after=after)["body"]
        match = re.search(r"\b(\d{6})\b", body)
        assert match, f"no 6-digit code in {body!r}"
        return match.group(1)

    def link(self, to: str, subject_contains: str, after: int = 0) -> str:
        body = self.wait(to, subject_contains, after=after)["body"]
        match = re.search(r"https?://\S+", body)
        assert match, f"no link in {body!r}"
        return match.group(0)


class Api:
    """An httpx client on the live server with a bearer token once logged in."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
        self.access: str | None = None
        self.refresh: str | None = None
        self.user: dict | None = None

    def request(self, method: str, url: str, **kw) -> httpx.Response:
        headers = dict(kw.pop("headers", None) or {})  # a copy: never add the token to the caller's dict
        if self.access and "authorization" not in {k.lower() for k in headers}:
            headers["Authorization"] = f"Bearer {self.access}"
        return self.http.request(method, url, headers=headers, **kw)

    def get(self, url: str, **kw) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw) -> httpx.Response:
        return self.request("POST", url, **kw)

    def patch(self, url: str, **kw) -> httpx.Response:
        return self.request("PATCH", url, **kw)

    def put(self, url: str, **kw) -> httpx.Response:
        return self.request("PUT", url, **kw)

    def delete(self, url: str, **kw) -> httpx.Response:
        return self.request("DELETE", url, **kw)

    def close(self) -> None:
        self.http.close()


class Authenticator:
    """A TOTP authenticator app for tests.

    The server accepts the previous, current and next 30 s step but never a step it already
    accepted (replay), so each code() is for a newer step than the last one: three codes are
    available at once (steps now-1, now, now+1); a fourth waits for the clock.
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.totp = pyotp.TOTP(secret)
        self.last: int | None = None

    def code(self) -> str:
        if 30 - time.time() % 30 < 1.5:  # let the server see the same step as this test
            time.sleep(1.6)
        now = int(time.time() // 30)
        step = now - 1 if self.last is None else max(self.last + 1, now - 1)
        if step > now + 1:
            time.sleep((step - 1) * 30 - time.time() + 0.2)
        self.last = step
        return self.totp.generate_otp(step)


def enable_mfa(api: Api, password: str | None = None, verify: bool = True) -> tuple[Authenticator, list[str]]:
    """Turn on two-factor for a logged-in Api with its password (api.password unless given; none for accounts
    without one). With verify, a second code then confirms the session (enabling alone does not verify it)."""
    r = api.post("/api/v1/auth/mfa/setup")
    assert r.status_code == 200, r.text
    device = Authenticator(r.json()["secret"])
    password = getattr(api, "password", "") if password is None else password
    r = api.post("/api/v1/auth/mfa/enable", json={"password": password or "", "code": device.code()})
    assert r.status_code == 200, r.text
    codes = r.json()["recovery_codes"]
    if verify:
        r = api.post("/api/v1/auth/mfa/confirm", json={"code": device.code()})
        assert r.status_code == 200, r.text
    return device, codes
