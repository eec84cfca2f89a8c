"""A `smile worker` process killed (SIGKILL) in the middle of a burst of payment events:
after a restart every event is handled exactly once.

It runs on a database of its own, so no other worker (like the in-process one of the shared
test server) takes the jobs: `smile serve` with SMILE_RUN_WORKER=0 receives the webhooks, and
the worker subprocess is the only one handling them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
import stripe

from smile.billing.payments import sandbox
from smile.kit import migrate
from smile.kit.db import libpq_url
from tests.billing.payments.purpose import SLOW
from tests.billing.support import wait_for
from tests.support import with_database
from tests.test_multiprocess import Serve

ROOT = Path(__file__).resolve().parents[3]
SECRET = "m" * 48  # the key tests.test_multiprocess.Serve gives its server
EVENTS = 40


@pytest.fixture
def kill_db(database_url):
    admin = with_database(libpq_url(database_url), "postgres")
    name = f"smile_test_{os.getpid()}_kill"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(libpq_url(database_url), name)
    migrate.upgrade(url)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _env(tmp_path, url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMILE_")}
    env.update(
        SMILE_DATABASE_URL=url,
        SMILE_DATA_DIR=str(tmp_path / "var"),
        SMILE_SECRET_KEY=SECRET,
        SMILE_RATE_LIMIT_ENABLED="0",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def _worker(tmp_path, url: str, name: str) -> subprocess.Popen:
    """`smile worker`, with the test purposes' hooks loaded (as an area's tasks module would)."""
    code = "import tests.billing.payments.purpose; from smile.cli import app; app()"
    with open(tmp_path / f"{name}.log", "w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-c", code, "worker", "--concurrency", "4"],
            cwd=ROOT,
            env=_env(tmp_path, url, SMILE_PAYMENT_REDELIVER_SECONDS="1"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _payments(conn, count: int) -> list[uuid.UUID]:
    user = conn.execute(
        "INSERT INTO users (id, email, username, display_name, account_type, roles, status, bio, links, location, "
        "language, timezone, is_private, who_can_message, discoverable_by_email, is_adult, email_verified_at, "
        "created_at, updated_at) VALUES (%s, 'kill@example.com', 'kill', 'Kill', 'person', ARRAY['user'], 'active', "
        "'', '[]', '', 'en', 'UTC', false, 'everyone', false, true, now(), now(), now()) RETURNING id",
        (uuid.uuid4(),),
    ).fetchone()[0]
    ids = [uuid.uuid4() for _ in range(count)]
    for i, pid in enumerate(ids):
        conn.execute(
            "INSERT INTO payments (id, user_id, purpose, reference_id, description, amount, currency, mode, "
            "provider, provider_ref, idempotency_key, status, created_at) VALUES (%s, %s, %s, 'x', 'burst', "
            "%s, 'USD', 'payment', 'sandbox', %s, %s, 'pending', now())",
            (pid, user, SLOW, 100 + i, f"cs_sbx_{pid.hex}", f"kill:{pid}"),
        )
    return ids


def _paid_event(pid: uuid.UUID, amount: int) -> str:
    return json.dumps(
        {
            "id": f"evt_kill_{pid.hex}",
            "object": "event",
            "type": "checkout.session.completed",
            "created": 1_790_000_000,
            "livemode": False,
            "data": {
                "object": {
                    "id": f"cs_sbx_{pid.hex}",
                    "object": "checkout.session",
                    "mode": "payment",
                    "payment_status": "paid",
                    "amount_total": amount,
                    "currency": "usd",
                    "payment_intent": f"pi_sbx_{pid.hex}",
                    "metadata": {"payment_id": str(pid)},
                }
            },
        }
    )


def test_killed_worker_loses_and_repeats_nothing(tmp_path, kill_db):
    dsn = libpq_url(kill_db)
    conn = psycopg.connect(dsn, autocommit=True)
    ids = _payments(conn, EVENTS)
    serve = Serve(tmp_path, kill_db, "serve", SMILE_RUN_WORKER="0")
    worker = _worker(tmp_path, kill_db, "worker1")
    restarted = None
    try:
        serve.wait_ready()
        secret = sandbox.webhook_secret(SECRET)  # as the server derives it from its secret key
        with httpx.Client(base_url=serve.url, timeout=30) as http:
            for i, pid in enumerate(ids):
                body = _paid_event(pid, 100 + i)
                r = http.post(
                    "/api/v1/billing/webhooks/sandbox",
                    content=body,
                    headers={"stripe-signature": stripe.WebhookSignature.generate_signature_header(body, secret)},
                )
                assert r.status_code == 200, r.text

        def handled() -> int:
            return conn.execute("SELECT count(*) FROM payment_events WHERE handled_at IS NOT NULL").fetchone()[0]

        def in_flight() -> bool:
            doing = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing' AND task_name = 'payments.handle_event'"
            ).fetchone()[0]
            return handled() >= 4 and doing > 0

        wait_for(in_flight, timeout=60, interval=0.01, message="the worker handling the burst")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        assert handled() < EVENTS, "the burst was over before the kill: nothing was in flight"

        restarted = _worker(tmp_path, kill_db, "worker2")
        wait_for(lambda: handled() == EVENTS, timeout=120, interval=0.2, message="every event handled after restart")

        sales = conn.execute(
            "SELECT reference_id, count(*) FROM ledger_transactions WHERE kind = 'test_sale' GROUP BY 1"
        ).fetchall()
        assert sorted(sales) == sorted((str(pid), 1) for pid in ids)
        assert conn.execute("SELECT count(*) FROM payments WHERE status = 'paid'").fetchone()[0] == EVENTS
        clearing = conn.execute(
            "SELECT balance FROM ledger_accounts WHERE purpose = 'clearing' AND owner_id IS NULL"
        ).fetchone()[0]
        assert clearing == -sum(100 + i for i in range(EVENTS))
        verify = subprocess.run(
            [sys.executable, "-m", "smile.cli", "ledger", "verify"],
            check=False,
            cwd=tmp_path,
            env=_env(tmp_path, kill_db),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        for proc in (worker, restarted):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        serve.stop()
        conn.close()
