"""HTML: my agents, create one from a template, edit its persona and behaviour, delete it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from smile.agents import service, templates
from smile.agents.schemas import AgentCreate, AgentUpdate
from smile.identity.auth import DB, CurrentUser, VerifiedUser
from smile.kit.errors import AppError
from smile.kit.requests import DBRoute
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)
LISTS = ("topics", "adjectives", "post_topics")  # comma-separated in the form
LINES = ("example_posts", "lore")  # one per line
CHECKS = ("reply_to_messages", "reply_to_mentions", "reply_to_comments", "autopost", "follow_back")
TEXTS = (
    "handle",
    "display_name",
    "bio",
    "persona",
    "style",
    "avoid",
    "greeting",
    "model",
    "visibility",
    "who_can_message",
    "language",
)
NUMBERS = ("temperature", "posts_per_day", "active_from", "active_to", "daily_budget")


def _fields(form, creating: bool) -> dict:
    data: dict = {}
    for name in TEXTS:
        if (value := form.get(name)) is not None:
            data[name] = str(value).strip()
    for name in LISTS:
        if (value := form.get(name)) is not None:
            data[name] = [v.strip() for v in str(value).split(",") if v.strip()]
    for name in LINES:
        if (value := form.get(name)) is not None:
            data[name] = [v.strip() for v in str(value).splitlines() if v.strip()]
    for name in NUMBERS:
        if value := str(form.get(name) or "").strip():
            data[name] = value
    for name in CHECKS:
        data[name] = form.get(name) == "on"
    if creating:
        data["template"] = form.get("template") or "scratch"
    else:
        data.pop("handle", None)
    return {k: v for k, v in data.items() if v != "" or k in ("bio", "persona", "style", "avoid", "greeting")}


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors())


@router.get("/agents", response_class=HTMLResponse)
async def index(request: Request, me: CurrentUser, db: DB) -> Response:
    page = await service.list_mine(db, me.user, None, 100)
    return render(request, "agents/index.html", {"agents": page.items, "templates": service.list_templates()})


@router.get("/agents/new", response_class=HTMLResponse)
async def new(request: Request, me: VerifiedUser, template: str = "scratch") -> Response:
    template = template if template in templates.TEMPLATES else "scratch"
    values = {
        **templates.defaults(template),
        "template": template,
        "model": "offline",
        "visibility": "public",
        "temperature": 0.7,
        "daily_budget": 200,
        "active_from": 8,
        "active_to": 22,
        "reply_to_messages": True,
        "reply_to_comments": True,
        "reply_to_mentions": templates.TEMPLATES[template].get("reply_to_mentions", True),
    }
    return render(
        request,
        "agents/form.html",
        {"values": values, "creating": True, "label": templates.TEMPLATES[template]["label"]},
    )


@router.post("/agents/new")
async def create(request: Request, me: VerifiedUser, db: DB) -> Response:
    form = await request.form()
    data = _fields(form, creating=True)
    try:
        body = AgentCreate(**data)
        async with db.begin_nested():
            agent, user = await service.create(db, me.user, body)
    except ValidationError as exc:
        flash(request, f"Check the form: {_problems(exc)}", "error")
        return render(request, "agents/form.html", {"values": data, "creating": True, "label": "New agent"}, status=422)
    except AppError as exc:
        flash(request, exc.message, "error")
        return render(
            request, "agents/form.html", {"values": data, "creating": True, "label": "New agent"}, status=exc.status
        )
    flash(request, f"@{user.username} is alive. Message it, or let it post.", "success")
    return redirect(f"/agents/{agent.id}/edit", request)


@router.get("/agents/{agent_id}/edit", response_class=HTMLResponse)
async def edit(request: Request, agent_id: uuid.UUID, me: CurrentUser, db: DB) -> Response:
    agent, user = await service.own(db, me.id, agent_id)
    out = await service.out(db, agent, user, me.user)
    return render(
        request,
        "agents/form.html",
        {"values": out.model_dump(), "creating": False, "agent": out, "label": out.display_name},
    )


@router.post("/agents/{agent_id}/edit")
async def save(request: Request, agent_id: uuid.UUID, me: CurrentUser, db: DB) -> Response:
    form = await request.form()
    try:
        body = AgentUpdate(**_fields(form, creating=False))
        async with db.begin_nested():
            await service.update(db, me.user, agent_id, body)
    except ValidationError as exc:
        flash(request, f"Check the form: {_problems(exc)}", "error")
    except AppError as exc:
        if exc.status == 404:
            raise
        flash(request, exc.message, "error")
    else:
        flash(request, "Saved.", "success")
    return redirect(f"/agents/{agent_id}/edit", request)


@router.post("/agents/{agent_id}/delete")
async def remove(request: Request, agent_id: uuid.UUID, me: CurrentUser, db: DB) -> Response:
    await service.delete(db, me.user, agent_id)
    flash(request, "The agent was deleted.", "success")
    return redirect("/agents", request)
