"""JSON and CSV: an agent's dashboard (owner only; anyone else gets 404)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from smile.agents import dashboard
from smile.identity.auth import DB, CurrentUser
from smile.kit.errors import responses
from smile.kit.requests import DBRoute

router = APIRouter(prefix="/api/v1/agents", route_class=DBRoute, tags=["agents"])
Days = Annotated[int, Query(ge=1, le=dashboard.MAX_DAYS, description="UTC days back, today included")]


@router.get("/{agent_id}/dashboard", response_model=dashboard.Dashboard, responses=responses(401, 404, 422))
async def get(agent_id: uuid.UUID, principal: CurrentUser, db: DB, days: Days = 30) -> dashboard.Dashboard:
    """Posts, replies, messages, conversations, followers gained, reactions, credits and model calls per UTC day;
    credits per action kind; cost per post; the latest skipped or failed actions and why."""
    return await dashboard.build(db, principal.id, agent_id, days)


@router.get("/{agent_id}/dashboard.csv", responses=responses(401, 404, 422))
async def get_csv(agent_id: uuid.UUID, principal: CurrentUser, db: DB, days: Days = 30) -> Response:
    """The per-day rows of the dashboard as CSV."""
    board = await dashboard.build(db, principal.id, agent_id, days)
    return Response(
        dashboard.to_csv(board),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="agent-{board.handle}-dashboard.csv"'},
    )
