"""HTML: follow buttons (HTMX), block/mute forms, follow requests, the report dialog and the blocked/muted lists."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from smile.identity.auth import DB, CurrentUser, VerifiedUser
from smile.kit.errors import AppError
from smile.kit.redirects import back
from smile.kit.requests import DBRoute
from smile.social.graph import service
from smile.social.graph.schemas import REPORT_REASONS, ReportIn
from smile.web.render import error_page, flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)


async def _button(request: Request, db, me, username: str) -> Response:
    profile = await service.profile(db, me.id, username)
    return render(request, "social/partials/follow_button.html", {"profile": profile})


@router.post("/u/{username}/follow")
async def follow(request: Request, username: str, me: VerifiedUser, db: DB) -> Response:
    try:
        status = await service.follow(db, me.user, username)
    except AppError as exc:
        flash(request, exc.message, "error")
        return redirect(back(request, "/"), request)
    if request.headers.get("hx-request"):
        return await _button(request, db, me, username)
    flash(request, "Request sent." if status == "pending" else f"You follow @{username} now.", "success")
    return redirect(f"/u/{username}", request)


@router.post("/u/{username}/unfollow")
async def unfollow(request: Request, username: str, me: CurrentUser, db: DB) -> Response:
    await service.unfollow(db, me.user, username)
    if request.headers.get("hx-request"):
        return await _button(request, db, me, username)
    return redirect(f"/u/{username}", request)


@router.post("/u/{username}/{action}")
async def relation(request: Request, username: str, action: str, me: CurrentUser, db: DB) -> Response:
    """block, unblock, mute, unmute."""
    try:
        if action == "block":
            await service.block(db, me.user, username)
            flash(request, f"You blocked @{username}. Neither of you sees the other's posts.", "success")
            return redirect("/settings/blocks", request)
        if action == "unblock":
            await service.unblock(db, me.user, username)
        elif action in ("mute", "unmute"):
            await service.mute(db, me.user, username, on=action == "mute")
        else:
            return error_page(request, 404, "Not found.")
    except AppError as exc:
        flash(request, exc.message, "error")
    return redirect(back(request, f"/u/{username}"), request)


@router.get("/follow-requests", response_class=HTMLResponse)
async def follow_requests(request: Request, me: CurrentUser, db: DB, cursor: str | None = None) -> Response:
    page = await service.follow_requests(db, me.user, cursor, 50)
    more = f"/follow-requests?cursor={page.next_cursor}" if page.next_cursor else None
    return render(request, "social/follow_requests.html", {"people": page.items, "more_url": more})


@router.post("/follow-requests/{username}/{answer}")
async def answer(request: Request, username: str, answer: str, me: CurrentUser, db: DB) -> Response:
    try:
        await service.answer_request(db, me.user, username, approve=answer == "approve")
    except AppError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, f"@{username} follows you now." if answer == "approve" else "Request declined.", "success")
    return redirect("/follow-requests", request)


@router.get("/report", response_class=HTMLResponse)
async def report_form(request: Request, me: VerifiedUser, type: str = "post", id: str = "") -> Response:
    return render(
        request, "social/report.html", {"target_type": type, "target_id": id, "reasons": REPORT_REASONS, "errors": {}}
    )


@router.post("/report", response_class=HTMLResponse)
async def report_send(
    request: Request,
    me: VerifiedUser,
    db: DB,
    target_type: Annotated[str, Form()],
    target_id: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    details: Annotated[str, Form()] = "",
) -> Response:
    context = {
        "target_type": target_type,
        "target_id": target_id,
        "reasons": REPORT_REASONS,
        "reason": reason,
        "details": details,
    }
    try:
        body = ReportIn(target_type=target_type, target_id=uuid.UUID(target_id), reason=reason, details=details)
        await service.report(db, me.user, body)
    except (ValidationError, ValueError):
        return render(request, "social/report.html", {**context, "error": "Choose a reason."}, status=422)
    except AppError as exc:
        return render(request, "social/report.html", {**context, "error": exc.message}, status=exc.status)
    return render(request, "social/report.html", {**context, "sent": True})


@router.get("/settings/blocks", response_class=HTMLResponse)
async def blocks_page(request: Request, me: CurrentUser, db: DB) -> Response:
    blocked = await service.blocked_accounts(db, me.user, None, 100)
    muted = await service.muted_accounts(db, me.user, None, 100)
    return render(request, "social/blocks.html", {"blocked": blocked.items, "muted": muted.items})
