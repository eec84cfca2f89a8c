"""Two real `smile serve` processes on one database: a message sent through one reaches a
WebSocket client of the other, over the PostgreSQL bus (default) and over Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.social.stream_client import Stream
from tests.support import STRONG_PASSWORD, Api, Mailbox, free_port

REDIS_URL = "redis://127.0.0.1:6379/13"


def _redis_reachable() -> str | None:
    """None when Redis answers, else why not."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"Redis is not reachable at {REDIS_URL}: {exc}"


class Serve:
    """`python -m smile.cli serve` in a subprocess."""

    def __init__(self, tmp_path, dsn: str, name: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("SMILE_")}
        clean.update(
            SMILE_DATABASE_URL=dsn,
            SMILE_DATA_DIR=str(tmp_path / "var"),
            SMILE_SECRET_KEY="m" * 48,
            SMILE_RATE_LIMIT_ENABLED="0",
            SMILE_BASE_URL=self.url,
            **env,
        )
        self.log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - the server's output for its lifetime; closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smile.cli", "serve", "--port", str(self.port)],
            env=clean,
            cwd=tmp_path,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"smile serve exited with {self.proc.returncode}: {Path(self.log.name).read_text()[-3000:]}"
                )
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"smile serve did not start: {Path(self.log.name).read_text()[-3000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


def _user(base_url: str, mailbox: Mailbox, username: str) -> Api:
    api = Api(base_url)
    email = f"{username}@example.com"
    r = api.post(
        "/api/v1/auth/register",
        json={
            "email": email,
            "username": username,
            "password": STRONG_PASSWORD,
            "display_name": username.title(),
            "accept_terms": True,
        },
    )
    assert r.status_code == 201, r.text
    r = api.post("/api/v1/auth/login", json={"login": username, "password": STRONG_PASSWORD})
    assert r.status_code == 200, r.text
    api.access = r.json()["access_token"]
    r = api.post("/api/v1/auth/verify-email", json={"code": mailbox.code(email)})
    assert r.status_code == 200, r.text
    return api


@pytest.mark.parametrize("backend", ["postgres", "redis"])
def test_message_crosses_processes(backend, tmp_path, dsn, mailbox):
    env = {}
    if backend == "redis":
        if reason := _redis_reachable():
            pytest.skip(reason)
        env["SMILE_REDIS_URL"] = REDIS_URL
    a = Serve(tmp_path, dsn, "a", **env)
    b = Serve(tmp_path, dsn, "b", SMILE_RUN_WORKER="0", **env)
    try:
        a.wait_ready()
        b.wait_ready()
        alice, bob = _user(a.url, mailbox, "alice"), _user(a.url, mailbox, "bob")
        bob_on_b = Api(b.url)
        bob_on_b.access = bob.access
        conv = alice.post("/api/v1/conversations", json={"member_usernames": ["bob"]}).json()["id"]
        with Stream(b.url, bob.access) as stream:
            stream.ready()
            for body in ("hello from process A", "and again"):
                r = alice.post(f"/api/v1/conversations/{conv}/messages", json={"body": body})
                assert r.status_code == 201, r.text
                event = stream.next("message", timeout=1.0)
                assert event["payload"]["message"]["body"] == body
            # and the other way round: typed on B, seen on A
            with Stream(a.url, alice.access) as alice_stream:
                alice_stream.ready()
                stream.send({"type": "typing", "conversation_id": conv})
                assert alice_stream.next("typing", timeout=1.0)["payload"]["user"]["username"] == "bob"
                r = bob_on_b.post(f"/api/v1/conversations/{conv}/messages", json={"body": "hi from B"})
                assert r.status_code == 201
                assert alice_stream.next("message", timeout=1.0)["payload"]["message"]["body"] == "hi from B"
        for api in (alice, bob, bob_on_b):
            api.close()
    finally:
        a.stop()
        b.stop()
