"""Admin pages (HTMX): user search and detail with suspend/roles forms, and the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from smile.admin import service
from smile.admin.schemas import STATUSES
from smile.identity.auth import DB, AdminUser
from smile.identity.models import ROLES
from smile.identity.sessions import client_info
from smile.kit.errors import Conflict, Invalid
from smile.kit.requests import DBRoute
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)

PAGE_SIZE = 25


def _partial(request: Request) -> bool:
    """An HTMX request for table rows only (not a history restore, which needs the whole page)."""
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


def _more_url(path: str, filters: dict[str, str], cursor: str | None) -> str | None:
    if not cursor:
        return None
    return f"{path}?{urlencode({**{k: v for k, v in filters.items() if v}, 'cursor': cursor})}"


@router.get("/admin", response_class=HTMLResponse)
async def admin_home(request: Request, admin: AdminUser) -> Response:
    return redirect("/admin/users")


@router.get("/admin/users", response_class=HTMLResponse)
async def users(
    request: Request, db: DB, admin: AdminUser, q: str = "", status: str = "", role: str = "", cursor: str | None = None
) -> HTMLResponse:
    filters = {
        "q": q.strip()[:200],
        "status": status if status in STATUSES else "",
        "role": role if role in ROLES else "",
    }
    page = await service.list_users(
        db,
        q=filters["q"],
        status=filters["status"] or None,
        role=filters["role"] or None,
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    context = {
        "page": page,
        "filters": filters,
        "statuses": STATUSES,
        "roles": ROLES,
        "first_page": not cursor,
        "more_url": _more_url("/admin/users", filters, page.next_cursor),
    }
    name = "admin/_user_rows.html" if _partial(request) else "admin/users.html"
    return render(request, name, context)


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
async def user_detail(user_id: uuid.UUID, request: Request, db: DB, admin: AdminUser) -> HTMLResponse:
    user = await service.get_user(db, user_id)
    history = await service.audit_page(db, target=str(user_id), limit=10)
    return render(
        request,
        "admin/user.html",
        {"account": user, "history": history, "roles": ROLES, "is_self": user.id == admin.user.id},
    )


async def _act(request: Request, user_id: uuid.UUID, action: Awaitable[object], done: str) -> Response:
    """Run an admin action from a form; refusals come back as a flash message on the detail page."""
    try:
        await action
    except (Conflict, Invalid) as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, done, "success")
    return redirect(f"/admin/users/{user_id}", request)


@router.post("/admin/users/{user_id}/suspend")
async def suspend(
    user_id: uuid.UUID, request: Request, db: DB, admin: AdminUser, reason: Annotated[str, Form()] = ""
) -> Response:
    action = service.suspend(db, admin.user, user_id, reason, ip=client_info(request)[1])
    return await _act(request, user_id, action, "Account suspended; its sessions were signed out.")


@router.post("/admin/users/{user_id}/reactivate")
async def reactivate(user_id: uuid.UUID, request: Request, db: DB, admin: AdminUser) -> Response:
    action = service.reactivate(db, admin.user, user_id, ip=client_info(request)[1])
    return await _act(request, user_id, action, "Account reactivated.")


@router.post("/admin/users/{user_id}/roles")
async def set_roles(
    user_id: uuid.UUID,
    request: Request,
    db: DB,
    admin: AdminUser,
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults, the list is never shared
) -> Response:
    action = service.set_roles(db, admin.user, user_id, roles, ip=client_info(request)[1])
    return await _act(request, user_id, action, "Roles saved.")


@router.get("/admin/audit", response_class=HTMLResponse)
async def audit(
    request: Request,
    db: DB,
    admin: AdminUser,
    actor: str = "",
    target: str = "",
    action: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    filters = {"actor": actor.strip()[:200], "target": target.strip()[:200], "action": action.strip()[:200]}
    page = await service.audit_page(db, **filters, cursor=cursor, limit=PAGE_SIZE)
    context = {
        "page": page,
        "filters": filters,
        "first_page": not cursor,
        "more_url": _more_url("/admin/audit", filters, page.next_cursor),
    }
    name = "admin/_audit_rows.html" if _partial(request) else "admin/audit.html"
    return render(request, name, context)
