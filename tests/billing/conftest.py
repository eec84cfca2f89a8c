"""Billing fixtures: users made directly in the database, and an async ledger session factory."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from smile.kit.db import Database


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
            (uuid.uuid4(), f"{name}@example.com", name, name)).fetchone()
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
