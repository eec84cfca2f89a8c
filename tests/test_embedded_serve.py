"""`smile serve` on its embedded PostgreSQL, as a real subprocess: the signals that stop it stop the
database too, and the server rides out the database being killed under it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from smile.kit.db import libpq_url
from tests.support import Mailbox, free_port
from tests.test_embedded import Child, _alive, _stops, short_dir  # noqa: F401 - short_dir is a fixture
from tests.test_multiprocess import _user


class EmbeddedServe:
    """`python -m smile.cli serve` with no SMILE_DATABASE_URL: it starts the embedded server under data_dir."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("SMILE_")}
        clean.update(
            SMILE_DATA_DIR=str(data_dir),
            SMILE_SECRET_KEY="e" * 48,
            SMILE_RATE_LIMIT_ENABLED="0",
            SMILE_BASE_URL=self.url,
            **env,
        )
        self.log_path = data_dir / f"serve-{self.port}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - the server's output for its lifetime; closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smile.cli", "serve", "--port", str(self.port)],
            env=clean,
            cwd=data_dir,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text()[-4000:]

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"smile serve exited with {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"smile serve did not become ready: {self.output()}")

    def postmaster(self) -> int:
        return int((self.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])

    def dsn(self) -> str:
        """A libpq URL of the embedded server's `smile` database (its socket dir is in postmaster.pid)."""
        socket_dir = (self.data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[4].strip()
        return f"postgresql://postgres@/smile?host={socket_dir}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


@pytest.fixture
def serve(short_dir):  # noqa: F811 - the imported fixture
    started: list[EmbeddedServe] = []

    def start(data_dir: Path = short_dir, **env: str) -> EmbeddedServe:
        data_dir.mkdir(exist_ok=True)
        started.append(EmbeddedServe(data_dir, **env))
        started[-1].wait_ready()
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_stops_the_embedded_postgres(serve, sig):
    """systemd, Docker and Kubernetes send SIGTERM, a terminal sends SIGINT: either way the last user of the
    embedded server stops it (a postmaster left running holds the data dir and its port/socket)."""
    server = serve()
    postmaster = server.postmaster()
    assert _alive(postmaster)
    server.proc.send_signal(sig)
    assert server.proc.wait(30) == 0, server.output()
    assert _stops(postmaster, timeout=15), f"postmaster {postmaster} still running after {sig.name}"
    assert not (server.data_dir / "postgres" / "postmaster.pid").exists()


def _unavailable(r: httpx.Response) -> None:
    """The answer while the database is unreachable: 503, Retry-After, the error shape."""
    assert r.status_code == 503, r.text
    assert int(r.headers["Retry-After"]) > 0
    assert r.json() == {"error": "database_unavailable", "detail": r.json()["detail"], "fields": {}}
    assert "try again" in r.json()["detail"]


class Writer(threading.Thread):
    """Posts one post after another, recording every answer as (status, body sent, post id or None)."""

    def __init__(self, api, name: str) -> None:
        super().__init__(daemon=True, name=name)
        self.api, self.answers, self.refusals, self.stop = api, [], [], threading.Event()
        self.http = httpx.Client(
            base_url=str(api.http.base_url), timeout=60, headers={"Authorization": f"Bearer {api.access}"}
        )

    def run(self) -> None:
        while not self.stop.is_set():
            body = f"{self.name} {uuid.uuid4().hex}"
            try:
                r = self.http.post("/api/v1/posts", json={"body": body})
            except httpx.HTTPError as exc:  # smile itself must stay up: record it as a failure
                self.answers.append((type(exc).__name__, body, None))
                continue
            self.answers.append((r.status_code, body, r.json().get("id") if r.status_code == 201 else None))
            if r.status_code == 503:
                self.refusals.append(r)
                time.sleep(0.1)

    def ok_since(self, index: int) -> int:
        return sum(1 for status, _, _ in self.answers[index:] if status == 201)


def test_killed_embedded_postgres_is_restarted_without_errors_or_lost_writes(serve, short_dir):  # noqa: F811
    """SIGKILL the embedded postmaster during a stream of writes: every answer is 201 or 503 (never a 500),
    smile restarts the server by itself, writes succeed again within a bound, every 201 is stored, and the
    in-process job worker runs jobs again (a new account's verification email is delivered)."""
    server = serve()
    mailbox = Mailbox(server.dsn())
    alice = _user(server.url, mailbox, "alice")
    writers = [Writer(alice, f"w{i}") for i in range(3)]
    for writer in writers:
        writer.start()
    deadline = time.monotonic() + 60
    while sum(w.ok_since(0) for w in writers) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    marks = [len(w.answers) for w in writers]
    assert sum(marks) >= 30, [w.answers[-3:] for w in writers]

    postmaster = server.postmaster()
    os.kill(postmaster, signal.SIGKILL)
    killed_at = time.monotonic()
    recovered_at = None
    while time.monotonic() < killed_at + 45:
        if all(w.ok_since(m) >= 10 for w, m in zip(writers, marks, strict=True)):
            recovered_at = time.monotonic()
            break
        time.sleep(0.1)
    for writer in writers:
        writer.stop.set()
    for writer in writers:
        writer.join(30)
    answers = [a for w in writers for a in w.answers]
    statuses = {status for status, _, _ in answers}
    assert statuses <= {201, 503}, f"unexpected answers {statuses - {201, 503}}: {server.output()}"
    assert 503 in statuses, "the kill was never noticed: the test did not test anything"
    for refusal in (r for w in writers for r in w.refusals):
        _unavailable(refusal)
    assert recovered_at is not None, f"writes did not recover within 45 s: {server.output()}"
    assert server.postmaster() != postmaster and _alive(server.postmaster())
    assert server.proc.poll() is None

    written = [(body, post_id) for status, body, post_id in answers if status == 201]
    with psycopg.connect(server.dsn()) as conn:
        stored = dict(
            conn.execute(
                "SELECT id::text, body FROM posts WHERE id = ANY(%s::uuid[])", ([post_id for _, post_id in written],)
            ).fetchall()
        )
    missing = [(body, post_id) for body, post_id in written if stored.get(post_id) != body]
    assert not missing, f"{len(missing)} of {len(written)} acknowledged writes are gone: {missing[:5]}"

    bob = _user(server.url, mailbox, "bob")  # waits for the worker to deliver bob's verification email
    assert bob.get("/api/v1/users/me").json()["email_verified"] is True


def test_database_down_answers_503_and_recovers_when_it_is_back(serve, short_dir):  # noqa: F811
    """An external database stops (smile does not restart it): API requests answer 503 with Retry-After and
    the error shape, pages a 503 page, /readyz 503; once it is back the same smile process serves again."""
    database = Child(short_dir)
    server = serve(short_dir / "app", SMILE_DATABASE_URL=database.url)
    mailbox = Mailbox(libpq_url(database.url))
    alice = _user(server.url, mailbox, "alice")
    assert alice.post("/api/v1/posts", json={"body": "before"}).status_code == 201
    web = httpx.Client(base_url=server.url, headers={"Accept": "text/html"}, timeout=30)
    assert web.get("/u/alice").status_code == 200

    assert database.exit() == 0  # the last user stops the server
    assert _stops(database.postmaster)
    for _ in range(3):  # every pooled connection is dead: each request gets the same answer
        _unavailable(alice.post("/api/v1/posts", json={"body": "while down"}))
        _unavailable(alice.get("/api/v1/users/me"))
    page = web.get("/u/alice")
    assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0
    assert "text/html" in page.headers["content-type"] and "Back in a moment" in page.text
    assert httpx.get(server.url + "/readyz").status_code == 503

    database = Child(short_dir)  # the server is back (a new postmaster on the same data dir)
    deadline = time.monotonic() + 30
    while (r := alice.post("/api/v1/posts", json={"body": "after"})).status_code != 201:
        assert r.status_code == 503 and time.monotonic() < deadline, r.text
        time.sleep(0.2)
    assert web.get("/u/alice").status_code == 200
    assert httpx.get(server.url + "/readyz").status_code == 200
    web.close()
    server.stop()
    assert database.exit() == 0
