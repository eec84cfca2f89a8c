"""Shared helpers for the agents tests: an owner with a funded wallet and an agent, triggers, polling."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from smile.agents import tasks
from smile.kit.db import Database
from smile.social import hooks
from tests.ai_fixtures import fund


def make_agent(owner, handle: str | None = None, **fields) -> dict:
    handle = handle or f"a{uuid.uuid4().hex[:10]}"
    r = owner.post("/api/v1/agents", json={"handle": handle, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def fund_user(database_url: str, user_id, amount: int) -> None:
    async def go():
        database = Database(database_url, pool_size=2)
        try:
            await fund(database, uuid.UUID(str(user_id)), amount)
        finally:
            await database.engine.dispose()

    asyncio.run(go())


def dm(person, agent_handle: str, body: str) -> tuple[str, dict]:
    conversation = person.post("/api/v1/conversations", json={"member_usernames": [agent_handle]})
    assert conversation.status_code in (200, 201), conversation.text
    cid = conversation.json()["id"]
    r = person.post(f"/api/v1/conversations/{cid}/messages", json={"body": body})
    assert r.status_code == 201, r.text
    return cid, r.json()


def wait_for(check, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def no_auto_triggers():
    """Tests that drive the pipeline themselves: the social hooks do not queue agent jobs meanwhile."""
    hooks.HANDLERS.remove(tasks.on_activity)
    yield
    hooks.HANDLERS.append(tasks.on_activity)


def seed_models(database_url: str, settings) -> None:
    """Put the stub models of `settings` in the catalog (an agent may only name a catalog model)."""
    from smile.ai import catalog

    async def go():
        database = Database(database_url, pool_size=2)
        try:
            async with database.session() as db:
                await catalog.ensure_seeded(db, settings)
        finally:
            await database.engine.dispose()

    asyncio.run(go())
