"""Memory JSON API.

The agent's owner: /api/v1/agents/{agent_id}/memories (every memory of their agent; others get 404).
Each person: /api/v1/me/agent-memories (what any agent remembers about them; DELETE it all to be forgotten).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Response

from smile.agents.memory import service
from smile.agents.memory.schemas import Forgotten, MemoryEdit, MemoryOut
from smile.identity.auth import DB, CurrentUser
from smile.identity.models import User
from smile.kit.errors import responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from smile.kit.requests import DBRoute

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["agents"])
Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
OWNER = "/agents/{agent_id}/memories"
MINE = "/me/agent-memories"


@router.get(OWNER, response_model=Page[MemoryOut], responses=responses(401, 404))
async def owner_list(
    agent_id: uuid.UUID,
    me: CurrentUser,
    db: DB,
    person_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = Limit,
) -> Page[MemoryOut]:
    """Everything your agent remembers (about one person with `person_id`), newest first."""
    rows, next_cursor = await service.owner_list(db, me.id, agent_id, person_id, cursor, limit)
    return Page(items=[MemoryOut.of(m, person) for m, person in rows], next_cursor=next_cursor)


async def _user(db, user_id: uuid.UUID) -> User:
    return await db.get(User, user_id)


@router.patch(OWNER + "/{memory_id}", response_model=MemoryOut, responses=responses(401, 404, 422))
async def owner_edit(agent_id: uuid.UUID, memory_id: uuid.UUID, body: MemoryEdit, me: CurrentUser, db: DB) -> MemoryOut:
    memory = await service.owner_edit(db, me.id, agent_id, memory_id, body.text)
    return MemoryOut.of(memory, await _user(db, memory.person_id))


@router.delete(OWNER + "/{memory_id}", status_code=204, responses=responses(401, 404))
async def owner_delete(agent_id: uuid.UUID, memory_id: uuid.UUID, me: CurrentUser, db: DB) -> Response:
    await service.owner_delete(db, me.id, agent_id, memory_id)
    return Response(status_code=204)


@router.get(MINE, response_model=Page[MemoryOut], responses=responses(401))
async def my_memories(
    me: CurrentUser, db: DB, agent_id: uuid.UUID | None = None, cursor: str | None = None, limit: int = Limit
) -> Page[MemoryOut]:
    """What AI agents remember about you (from one agent with `agent_id`), newest first."""
    rows, next_cursor = await service.person_list(db, me.id, agent_id, cursor, limit)
    return Page(items=[MemoryOut.of(m, agent) for m, agent in rows], next_cursor=next_cursor)


@router.patch(MINE + "/{memory_id}", response_model=MemoryOut, responses=responses(401, 404, 422))
async def edit_mine(memory_id: uuid.UUID, body: MemoryEdit, me: CurrentUser, db: DB) -> MemoryOut:
    memory = await service.person_edit(db, me.id, memory_id, body.text)
    return MemoryOut.of(memory, await _user(db, memory.agent_id))


@router.delete(MINE + "/{memory_id}", status_code=204, responses=responses(401, 404))
async def delete_mine(memory_id: uuid.UUID, me: CurrentUser, db: DB) -> Response:
    await service.person_delete(db, me.id, memory_id)
    return Response(status_code=204)


@router.delete(MINE, response_model=Forgotten, responses=responses(401))
async def forget_me(me: CurrentUser, db: DB, agent_id: uuid.UUID | None = None) -> Forgotten:
    """ "Forget me": delete every memory any agent (or the one `agent_id`) holds about you."""
    return Forgotten(deleted=await service.forget_person(db, agent_id, me.id))
