"""A failing statement's error (what the 500 handler logs) never carries its parameters."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import exc, text

from smile.kit.db import Database

SECRET = "sk-live-0123456789abcdef"


def test_statement_errors_hide_their_parameters(database_url):
    async def fail() -> str:
        database = Database(database_url, pool_size=1)
        try:
            async with database.session() as session:
                with pytest.raises(exc.DBAPIError) as caught:
                    await session.execute(
                        text("SELECT :secret, :email, CAST(:rpm AS integer)"),
                        {"secret": SECRET, "email": "ada@example.com", "rpm": 2**31},
                    )
            return str(caught.value)
        finally:
            await database.engine.dispose()

    message = asyncio.run(fail())
    assert "integer out of range" in message and "SELECT" in message  # still says what failed, and where
    assert SECRET not in message and "ada@example.com" not in message and "2147483648" not in message
