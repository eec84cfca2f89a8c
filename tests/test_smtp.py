"""Email leaves through a real SMTP server (aiosmtpd) from a real `smile serve` process.

The server process gets its own database (migrated by `smile serve` itself in dev mode), so
the suite's in-process worker, which captures mail instead, never races it for the jobs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from email import message_from_bytes

import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller

from tests.support import STRONG_PASSWORD, free_port


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        parsed = message_from_bytes(envelope.content)
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "subject": parsed["Subject"],
                "body": parsed.get_payload(decode=True).decode(),
            }
        )
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if to in message["to"]:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no message to {to} reached the SMTP server in {timeout}s")


@contextmanager
def smtp_server(port: int):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


class SmileProcess:
    def __init__(self, url: str, proc: subprocess.Popen, dsn: str, log_path) -> None:
        self.url, self.proc, self.dsn, self.log_path = url, proc, dsn, log_path

    def email_row(self, to: str) -> tuple | None:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute('SELECT status, attempts, error, sent_at FROM emails WHERE "to" = %s', (to,)).fetchone()

    def register(self, username: str) -> str:
        email = f"{username}@example.com"
        r = httpx.post(
            f"{self.url}/api/v1/auth/register",
            timeout=30,
            json={
                "email": email,
                "username": username,
                "password": STRONG_PASSWORD,
                "display_name": username.title(),
                "accept_terms": True,
            },
        )
        assert r.status_code == 201, r.text
        return email


@pytest.fixture(scope="module")
def smtp_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def smile(database_url, smtp_port, tmp_path_factory):
    """`python -m smile.cli serve` on its own database, sending through smtp://127.0.0.1:<smtp_port>."""
    from smile.kit.db import libpq_url

    admin = libpq_url(database_url)
    name = f"smile_smtp_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, query = admin.partition("?")
    dsn = base.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")
    work = tmp_path_factory.mktemp("smtp-serve")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMILE_")}
    env.update(
        SMILE_ENV="dev",
        SMILE_DATABASE_URL=dsn,
        SMILE_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        SMILE_DATA_DIR=str(work / "data"),
        SMILE_SECRET_KEY="s" * 48,
        SMILE_LOG_JSON="1",
        SMILE_BASE_URL=f"http://127.0.0.1:{port}",
    )
    log_path = work / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "smile.cli", "serve", "--port", str(port)],
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"smile serve exited:\n{log_path.read_text()[-3000:]}"
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"smile serve not healthy:\n{log_path.read_text()[-3000:]}"
            time.sleep(0.2)
        yield SmileProcess(url, proc, dsn, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_verification_email_is_delivered_over_smtp(smile, smtp_port):
    with smtp_server(smtp_port) as inbox:
        username = f"smtp{uuid.uuid4().hex[:8]}"
        email = smile.register(username)
        message = inbox.wait_for(email)
    assert message["to"] == [email]
    assert "no-reply@smile.local" in message["from"]
    code = re.search(r"\b(\d{6})\b", message["body"])
    assert code, message["body"]
    deadline = time.monotonic() + 10
    while (row := smile.email_row(email))[0] != "sent" and time.monotonic() < deadline:
        time.sleep(0.05)
    status, attempts, error, sent_at = row
    assert (status, attempts, error) == ("sent", 1, None) and sent_at is not None
    # The code that travelled over SMTP verifies the account.
    login = httpx.post(f"{smile.url}/api/v1/auth/login", json={"login": username, "password": STRONG_PASSWORD})
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    r = httpx.post(f"{smile.url}/api/v1/auth/verify-email", json={"code": code.group(1)}, headers=headers)
    assert r.status_code == 200, r.text
    assert httpx.get(f"{smile.url}/api/v1/users/me", headers=headers).json()["email_verified"] is True


def test_smtp_outage_keeps_mail_queued_and_retries_until_it_is_back(smile, smtp_port):
    email = smile.register(f"down{uuid.uuid4().hex[:8]}")  # nothing listens on the SMTP port yet
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = smile.email_row(email)
        if row and row[1] >= 2:
            break
        time.sleep(0.1)
    status, attempts, error, sent_at = row
    assert status == "queued" and attempts >= 2 and sent_at is None
    assert error and ("refused" in error.lower() or "connect" in error.lower()), error
    with psycopg.connect(smile.dsn) as conn:
        job = conn.execute(
            "SELECT status::text, attempts FROM procrastinate_jobs WHERE task_name = 'mail.deliver' "
            "AND args->>'email_id' = (SELECT id::text FROM emails WHERE \"to\" = %s)",
            (email,),
        ).fetchone()
    assert job[0] in ("todo", "doing") and job[1] >= 2  # scheduled for another try, not failed
    with smtp_server(smtp_port) as inbox:  # the SMTP server comes back: the next retry delivers
        message = inbox.wait_for(email, timeout=40)
        deadline = time.monotonic() + 10
        while (row := smile.email_row(email))[0] != "sent" and time.monotonic() < deadline:
            time.sleep(0.05)
    assert message["to"] == [email]
    assert row[0] == "sent" and row[1] >= 3 and row[2] is None
