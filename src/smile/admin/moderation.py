"""Admin moderation queue: reports by people and automatic holds; dismiss, hide, approve, warn or suspend.

Every action is audited. JSON under /api/v1/admin/reports, the page at /admin/moderation.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.admin import service as admin_service
from smile.identity import audit
from smile.identity.auth import DB, AdminUser
from smile.identity.models import User
from smile.identity.sessions import client_info
from smile.kit import mail
from smile.kit.errors import AppError, Invalid, responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset, page_of
from smile.kit.requests import DBRoute
from smile.social import moderation
from smile.social.models import Report
from smile.social.moderation import CONTENT
from smile.social.schemas import AuthorOut
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, tags=["admin"])

Action = Literal["dismiss", "hide", "approve", "warn", "suspend"]


class ReportRow(BaseModel):
    id: uuid.UUID
    target_type: str
    target_id: uuid.UUID
    reason: str
    details: str
    status: str
    automatic: bool = Field(description="held by the moderation rules rather than reported by a person")
    reporter: str | None
    author: AuthorOut | None
    excerpt: str
    target_status: str | None = Field(description="visible, held or hidden for content; the account status for users")
    resolution: str | None
    created_at: dt.datetime


class ReportPage(BaseModel):
    items: list[ReportRow]
    next_cursor: str | None = None


class Resolve(BaseModel):
    action: Action
    note: str = Field(default="", max_length=1000)


async def list_reports(db: AsyncSession, status: str, cursor: str | None, limit: int) -> ReportPage:
    stmt = select(Report).where(Report.status == status)
    rows, next_cursor = page_of(
        list(await db.scalars(keyset(stmt, Report.id, cursor, limit, newest_first=False))), limit
    )
    return ReportPage(items=await present(db, rows), next_cursor=next_cursor)


async def present(db: AsyncSession, rows: list[Report]) -> list[ReportRow]:
    """Reports with their targets' excerpts and authors, in a few queries."""
    targets: dict[tuple[str, uuid.UUID], object] = {}
    for kind, model in CONTENT.items():
        ids = [r.target_id for r in rows if r.target_type == kind]
        if ids:
            targets.update({(kind, t.id): t for t in await db.scalars(select(model).where(model.id.in_(ids)))})
    user_ids = (
        {r.target_user_id for r in rows}
        | {r.reporter_id for r in rows}
        | {r.target_id for r in rows if r.target_type == "user"}
    )
    users = {u.id: u for u in await db.scalars(select(User).where(User.id.in_({i for i in user_ids if i})))}
    items = []
    for r in rows:
        target = targets.get((r.target_type, r.target_id)) if r.target_type != "user" else users.get(r.target_id)
        author = users.get(r.target_user_id)
        if r.target_type == "user":
            excerpt = f"{target.display_name} (@{target.username}): {target.bio}" if target else "(account erased)"
        else:
            excerpt = (target.body or "")[:280] if target else "(deleted)"
        reporter = users.get(r.reporter_id)
        items.append(
            ReportRow(
                id=r.id,
                target_type=r.target_type,
                target_id=r.target_id,
                reason=r.reason,
                details=r.details,
                status=r.status,
                automatic=r.reporter_id is None and r.reason.startswith("auto:"),
                reporter=reporter.username if reporter else None,
                author=AuthorOut.of(author) if author else None,
                excerpt=excerpt,
                target_status=getattr(target, "status", None),
                resolution=r.resolution,
                created_at=r.created_at,
            )
        )
    return items


async def resolve(db: AsyncSession, actor: User, report_id: uuid.UUID, body: Resolve, ip: str = "") -> Report:
    """Apply the action, close every open report on the same target, and audit it. The content and the
    reports change through social's moderation service, an account through admin's (identity's) service."""
    report = await moderation.open_report(db, report_id)
    action, note = body.action, body.note.strip()
    if action in ("warn", "suspend") and report.target_user_id is None:
        raise Invalid("This report has no account to act on.", fields={"action": "not applicable"})
    if action in ("hide", "approve"):
        await moderation.set_visibility(db, report, visible=action == "approve")
    elif action == "warn":
        user = await db.get(User, report.target_user_id)
        await mail.send(
            db,
            user.email,
            "A warning from the smile moderators",
            f"Hello {user.display_name},\n\nA moderator reviewed a report about your "
            f"{report.target_type} and is warning you about it (reason: {report.reason}).\n\n"
            f"{note or 'Please follow the community rules.'}\n\n"
            "Repeated problems can lead to a suspension.\n",
        )
    elif action == "suspend":
        await admin_service.suspend(db, actor, report.target_user_id, note, ip=ip)
    await moderation.close_reports(db, report, action, actor.id)
    await audit.record(
        db,
        actor.id,
        f"moderation.{action}",
        report.target_id,
        target_type=report.target_type,
        ip=ip,
        report_id=str(report.id),
        reason=report.reason,
        note=note,
    )
    return report


# JSON API


@router.get("/api/v1/admin/reports", response_model=ReportPage, responses=responses(401, 403, 404, 422))
async def api_reports(
    admin: AdminUser,
    db: DB,
    status: Literal["open", "actioned", "dismissed"] = "open",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ReportPage:
    """The moderation queue, oldest first, with each target's excerpt and author."""
    return await list_reports(db, status, cursor, limit)


@router.post(
    "/api/v1/admin/reports/{report_id}/resolve", response_model=ReportRow, responses=responses(401, 403, 404, 409, 422)
)
async def api_resolve(report_id: uuid.UUID, body: Resolve, request: Request, admin: AdminUser, db: DB) -> ReportRow:
    """dismiss, hide (content), approve (a held item), warn (email) or suspend (the account; note = reason)."""
    report = await resolve(db, admin.user, report_id, body, ip=client_info(request)[1])
    return (await present(db, [report]))[0]


# Pages


@router.get("/admin/moderation", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request, admin: AdminUser, db: DB, status: str = "open", cursor: str | None = None) -> Response:
    if status not in ("open", "actioned", "dismissed"):
        status = "open"
    reports = await list_reports(db, status, cursor, 25)
    more = f"/admin/moderation?status={status}&cursor={reports.next_cursor}" if reports.next_cursor else None
    template = "admin/moderation_rows.html" if request.headers.get("hx-request") and cursor else "admin/moderation.html"
    return render(request, template, {"reports": reports.items, "status": status, "more_url": more})


@router.post("/admin/moderation/{report_id}", include_in_schema=False)
async def page_resolve(
    request: Request,
    report_id: uuid.UUID,
    admin: AdminUser,
    db: DB,
    action: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        body = Resolve(action=action, note=note[:1000])
        await resolve(db, admin.user, report_id, body, ip=client_info(request)[1])
    except AppError as exc:
        flash(request, exc.message, "error")
    except ValueError:
        flash(request, "Choose one of the actions.", "error")
    else:
        flash(request, f"Report resolved: {action}.", "success")
    return redirect("/admin/moderation", request)
