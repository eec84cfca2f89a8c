"""Admin HTML: the payouts queue (approve in review, mark paid / failed) and freezing an account's outgoing money."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from smile.billing.sales import payouts
from smile.identity.auth import DB, AdminUser
from smile.identity.models import User
from smile.identity.sessions import client_info
from smile.kit.errors import NotFound
from smile.kit.requests import DBRoute
from smile.web.render import attempt, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)

BACK = "/admin/finance/payouts"
STATUSES = ("review", "requested", "paid", "failed")


@router.get("/admin/finance/payouts", response_class=HTMLResponse)
async def payouts_page(
    request: Request, admin: AdminUser, db: DB, status: str = "review", cursor: str | None = None
) -> HTMLResponse:
    status = status if status in STATUSES else ""
    rows, more = await payouts.admin_payouts(db, status or None, cursor, 50)
    return render(
        request,
        "billing/sales/admin_payouts.html",
        {
            "rows": rows,
            "more": more,
            "status": status,
            "statuses": STATUSES,
            "money": payouts.money,
            "frozen": await payouts.frozen_accounts(db),
        },
    )


@router.post("/admin/finance/payouts/{payout_id}/approve")
async def approve(payout_id: uuid.UUID, request: Request, admin: AdminUser, db: DB) -> Response:
    action = payouts.approve(db, admin.user, payout_id, ip=client_info(request)[1])
    return await attempt(request, db, action, "Payout approved.", BACK)


@router.post("/admin/finance/payouts/{payout_id}/paid")
async def mark_paid(
    payout_id: uuid.UUID,
    request: Request,
    admin: AdminUser,
    db: DB,
    reference: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    action = payouts.mark_paid(db, admin.user, payout_id, reference, ip=client_info(request)[1])
    return await attempt(request, db, action, "Payout marked as paid.", BACK)


@router.post("/admin/finance/payouts/{payout_id}/failed")
async def mark_failed(
    payout_id: uuid.UUID, request: Request, admin: AdminUser, db: DB, reason: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    action = payouts.mark_failed(db, admin.user, payout_id, reason, ip=client_info(request)[1])
    return await attempt(
        request, db, action, "Payout marked as failed; the money is back in the seller's earnings.", BACK
    )


@router.post("/admin/finance/freeze")
async def freeze(
    request: Request,
    admin: AdminUser,
    db: DB,
    username: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    async def run():
        user_id = await db.scalar(
            select(User.id).where(func.lower(User.username) == username.strip().lstrip("@").lower())
        )
        if user_id is None:
            raise NotFound(f"No user @{username.strip().lstrip('@')}.")
        await payouts.set_frozen(db, admin.user, user_id, True, reason, ip=client_info(request)[1])

    return await attempt(
        request, db, run(), f"@{username.strip().lstrip('@')} is frozen: no spending, no payouts.", BACK
    )


@router.post("/admin/finance/users/{user_id}/unfreeze")
async def unfreeze(user_id: uuid.UUID, request: Request, admin: AdminUser, db: DB) -> Response:
    action = payouts.set_frozen(db, admin.user, user_id, False, "", ip=client_info(request)[1])
    return await attempt(request, db, action, "Account unfrozen.", BACK)
