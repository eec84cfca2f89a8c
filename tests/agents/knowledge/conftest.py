"""Agents test fixtures: an agent user owned by a person, and running a service call inside the app."""

from __future__ import annotations

import uuid

import pytest

from smile.kit import runtime


@pytest.fixture
def make_agent(db, make_user):
    """Insert an ai_agent user run by `owner_id`; returns its id."""

    def make(owner_id, name: str | None = None) -> uuid.UUID:
        agent_id = make_user(name)
        db.execute("UPDATE users SET account_type = 'ai_agent', owner_id = %s WHERE id = %s", (owner_id, agent_id))
        return agent_id

    return make


@pytest.fixture
def in_app(server):
    """Run `fn(session)` on the live app's loop, in one unit of work (committed when it returns)."""

    def go(fn, timeout: float = 180):
        async def main():
            async with runtime.current().db.session() as session:
                return await fn(session)

        return server.call(main(), timeout)

    return go
