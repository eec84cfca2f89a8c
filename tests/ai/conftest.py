"""AI fixtures: a private engine. The stubs, ai_settings and fund are in tests/ai_fixtures.py
(the hub uses them too)."""

from __future__ import annotations

import asyncio

import pytest

from smile.kit.db import Database


@pytest.fixture
def run(database_url):
    """Run `fn(database)` in a fresh event loop with a private engine."""

    def go(fn, pool_size: int = 20):
        async def main():
            database = Database(database_url, pool_size=pool_size)
            try:
                return await fn(database)
            finally:
                await database.engine.dispose()

        return asyncio.run(main())

    return go
