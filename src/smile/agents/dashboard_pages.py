"""HTML: an agent's dashboard with charts (owner only; anyone else gets 404)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from smile.agents import dashboard
from smile.identity.auth import DB, CurrentUser
from smile.kit.requests import DBRoute
from smile.web.render import render

router = APIRouter(route_class=DBRoute, include_in_schema=False)


@router.get("/agents/{agent_id}/dashboard", response_class=HTMLResponse)
async def page(
    request: Request,
    agent_id: uuid.UUID,
    me: CurrentUser,
    db: DB,
    days: Annotated[int, Query(ge=1, le=dashboard.MAX_DAYS)] = 30,
) -> Response:
    board = await dashboard.build(db, me.id, agent_id, days)
    active = any(any(getattr(d, name) for name in dashboard.SERIES) for d in board.per_day)
    return render(
        request,
        "agents/dashboard.html",
        {"board": board, "chart": dashboard.chart(board), "active": active},
    )
