"""Fixtures: a migrated real PostgreSQL, a live server over real HTTP, clean tables per test.

The database is the embedded PostgreSQL (under var/test-postgres) unless
SMILE_TEST_DATABASE_URL points at another server; either way a fresh database named
smile_test_<pid> is created and migrated by Alembic for the run, and dropped after.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from smile.config import Settings
from smile.kit import embedded, migrate
from smile.kit.db import Database, libpq_url
from tests.support import STRONG_PASSWORD, Api, LiveServer, Mailbox, free_port, with_database

pytest_plugins = ["tests.ai_fixtures"]  # the AI stubs and settings: the ai and hub tests both use them

ROOT = Path(__file__).resolve().parent.parent
KEEP_TABLES = {"alembic_version", "procrastinate_workers"}  # the live worker's own row


def _admin_url() -> str:
    if url := os.environ.get("SMILE_TEST_DATABASE_URL"):
        return url
    return embedded.start(ROOT / "var" / "test", database="postgres")


@pytest.fixture(scope="session")
def database_url():
    admin = libpq_url(_admin_url())
    name = f"smile_test_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(admin, name)
    migrate.upgrade(url)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def dsn(database_url) -> str:
    return libpq_url(database_url)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("smile-data")


@pytest.fixture(scope="session")
def settings(data_dir) -> Settings:
    return Settings(
        _env_file=None,
        env="dev",
        data_dir=data_dir,
        secret_key="t" * 48,
        base_url="http://testserver.local",
        redis_url=os.environ.get("SMILE_TEST_REDIS_URL"),
        lockout_failures=5,
        rate_login="30/minute",
        # the moderation classifier loads torch in the background: only its own tests turn it on
        moderation_classifier=False,
    )


@pytest.fixture(scope="session")
def server(settings, database_url):
    from smile.app import create_app

    app = create_app(settings, database_url=database_url)
    live = LiveServer(app).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def _tables(dsn) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return [r[0] for r in rows if r[0] not in KEEP_TABLES]


@pytest.fixture(autouse=True)
def _clean(request, dsn, _tables):
    """Each test starts from empty tables and fresh rate-limit counters."""
    yield
    for attempt in range(5):  # the in-process job worker may hold locks (e.g. a fan-out job): retry a deadlock
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SET smile.ledger_maintenance = 'on'")  # the journal is append-only otherwise
                conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in _tables) + " RESTART IDENTITY CASCADE")
            break
        except psycopg.errors.DeadlockDetected:
            if attempt == 4:
                raise
    if "server" in request.fixturenames:
        from smile.kit import runtime

        server = request.getfixturevalue("server")
        server.call(runtime.current().limiter.reset())


@pytest.fixture
def db(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def mailbox(dsn) -> Mailbox:
    return Mailbox(dsn)


@pytest.fixture
def client(server):
    api = Api(server.url)
    yield api
    api.close()


@pytest.fixture
def make_client(server):
    clients = []

    def make() -> Api:
        api = Api(server.url)
        clients.append(api)
        return api

    yield make
    for api in clients:
        api.close()


@pytest.fixture
def browser(server):
    """Browser-like clients (cookies, Accept: text/html) for the HTML pages; closed after the test.

    browser() has loaded /login, so it holds the CSRF cookie; browser(api) has also signed api's user in
    through the login form. csrf=True sends the CSRF token in a header on every request, as the site's
    scripts do; htmx=True adds HX-Request too, as htmx does.
    """
    made: list[httpx.Client] = []

    def make(api: Api | None = None, *, csrf: bool = False, htmx: bool = False) -> httpx.Client:
        web = httpx.Client(base_url=server.url, headers={"Accept": "text/html"}, timeout=30)
        made.append(web)
        assert web.get("/login").status_code == 200
        if api is not None:
            r = web.post(
                "/login", data={"csrf_token": web.cookies["smile_csrf"], "login": api.email, "password": api.password}
            )
            assert r.status_code == 303, r.text
        if csrf or htmx:
            web.headers["X-CSRF-Token"] = web.cookies["smile_csrf"]
        if htmx:
            web.headers["HX-Request"] = "true"
        return web

    yield make
    for web in made:
        web.close()


@pytest.fixture
def signup(make_client, mailbox):
    """Register (and by default verify and log in) a fresh user; returns a logged-in Api."""

    def create(
        username: str | None = None, *, verify: bool = True, password: str = STRONG_PASSWORD, email: str | None = None
    ) -> Api:
        username = username or f"u{uuid.uuid4().hex[:10]}"
        email = email or f"{username}@example.com"
        api = make_client()
        r = api.post(
            "/api/v1/auth/register",
            json={
                "email": email,
                "username": username,
                "password": password,
                "display_name": username.title(),
                "accept_terms": True,
            },
        )
        assert r.status_code == 201, r.text
        r = api.post("/api/v1/auth/login", json={"login": username, "password": password})
        assert r.status_code == 200, r.text
        api.access, api.refresh = r.json()["access_token"], r.json()["refresh_token"]
        if verify:
            code = mailbox.code(email)
            r = api.post("/api/v1/auth/verify-email", json={"code": code})
            assert r.status_code == 200, r.text
        api.user = api.get("/api/v1/users/me").json()
        api.email, api.password = email, password
        return api

    return create


@pytest.fixture
def make_user(db):
    """Insert a verified user row; returns its id."""

    def make(name: str | None = None) -> uuid.UUID:
        name = name or f"u{uuid.uuid4().hex[:10]}"
        row = db.execute(
            "INSERT INTO users (id, email, username, display_name, account_type, roles, status, bio, links, "
            "location, language, timezone, is_private, who_can_message, discoverable_by_email, is_adult, "
            "email_verified_at, created_at, updated_at) VALUES (%s, %s, %s, %s, 'person', ARRAY['user'], "
            "'active', '', '[]', '', 'en', 'UTC', false, 'everyone', false, true, now(), now(), now()) RETURNING id",
            (uuid.uuid4(), f"{name}@example.com", name, name),
        ).fetchone()
        return row[0]

    return make


@pytest.fixture
def ledger_db(database_url):
    """Run `fn(session)` coroutines on a private engine in a fresh event loop (one unit of work each)."""
    database = Database(database_url, pool_size=20)

    def run(coro_fn):
        async def main():
            try:
                return await coro_fn(database)
            finally:
                await database.engine.dispose()

        return asyncio.run(main())

    return run


@pytest.fixture
def s3_server():
    """A moto S3 server on a free port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    yield f"http://127.0.0.1:{port}"
    moto.stop()
