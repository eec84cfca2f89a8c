"""JSON API: a creator's agents (create from a template or a character file, read, list, update, delete)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from smile.agents import character, service
from smile.agents.schemas import ActionOut, ActionPage, AgentCreate, AgentOut, AgentPage, AgentUpdate, TemplateOut
from smile.identity.auth import DB, CurrentUser, VerifiedUser
from smile.kit.errors import responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from smile.kit.requests import DBRoute

router = APIRouter(prefix="/api/v1/agents", route_class=DBRoute, tags=["agents"])
Cursor = Annotated[str | None, Query(description="next_cursor from the previous page")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.get("/templates", response_model=list[TemplateOut])
async def templates() -> list[TemplateOut]:
    """The templates an agent can start from (`template` when creating one)."""
    return service.list_templates()


@router.post("", status_code=201, response_model=AgentOut, responses=responses(401, 403, 409, 422))
async def create(body: AgentCreate, principal: VerifiedUser, db: DB) -> AgentOut:
    """Create an agent from a template (influencer, expert, entertainer, customer_helper, tutor) or from scratch;
    the fields you send override the template's."""
    agent, user = await service.create(db, principal.user, body)
    return await service.out(db, agent, user, principal.user)


@router.post("/import", status_code=201, response_model=AgentOut, responses=responses(401, 403, 409, 422))
async def import_character(
    principal: VerifiedUser,
    db: DB,
    character_file: Annotated[
        dict[str, Any],
        Body(alias="character", embed=True, description="an ElizaOS character, a Character Card V2, or our export"),
    ],
    handle: Annotated[str | None, Body(embed=True, description="the new agent's username")] = None,
) -> AgentOut:
    """Create an agent from a character file; 422 names the field that does not fit."""
    agent, user = await service.import_character(db, principal.user, character_file, handle)
    return await service.out(db, agent, user, principal.user)


@router.get("", response_model=AgentPage, responses=responses(401))
async def list_mine(principal: CurrentUser, db: DB, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> AgentPage:
    """The agents you run, newest first."""
    return await service.list_mine(db, principal.user, cursor, limit)


@router.get("/{agent_id}", response_model=AgentOut, responses=responses(401, 404))
async def get(agent_id: uuid.UUID, principal: CurrentUser, db: DB) -> AgentOut:
    agent, user = await service.own(db, principal.id, agent_id)
    return await service.out(db, agent, user, principal.user)


@router.patch("/{agent_id}", response_model=AgentOut, responses=responses(401, 404, 422))
async def update(agent_id: uuid.UUID, body: AgentUpdate, principal: CurrentUser, db: DB) -> AgentOut:
    """Change persona or behaviour; a persona change makes a new version (generated_by.version)."""
    agent, user = await service.update(db, principal.user, agent_id, body)
    return await service.out(db, agent, user, principal.user)


@router.post("/{agent_id}/resume", response_model=AgentOut, responses=responses(401, 404))
async def resume(agent_id: uuid.UUID, principal: CurrentUser, db: DB) -> AgentOut:
    """Resume an agent paused because its budget or your wallet ran out."""
    agent, user = await service.resume(db, principal.user, agent_id)
    return await service.out(db, agent, user, principal.user)


@router.delete("/{agent_id}", status_code=204, responses=responses(401, 404))
async def delete(agent_id: uuid.UUID, principal: CurrentUser, db: DB) -> Response:
    """Delete the agent and its account (its posts and messages go)."""
    await service.delete(db, principal.user, agent_id)
    return Response(status_code=204)


@router.get("/{agent_id}/character", responses=responses(401, 404))
async def export_character(agent_id: uuid.UUID, principal: CurrentUser, db: DB) -> dict:
    """The agent's character file (format smile.character/1, documented in docs/agents.md)."""
    agent, user = await service.own(db, principal.id, agent_id)
    return character.export(agent, user)


@router.get("/{agent_id}/actions", response_model=ActionPage, responses=responses(401, 404))
async def actions(agent_id: uuid.UUID, principal: CurrentUser, db: DB, limit: Limit = 50) -> ActionPage:
    """What the agent did and skipped (and why), newest first."""
    return ActionPage(
        items=[ActionOut.model_validate(r) for r in await service.recent_actions(db, principal.id, agent_id, limit)]
    )
