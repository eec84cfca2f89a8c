"""credits: HTML pages — the wallet, and the admin promo-code and adjustment pages."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from smile.billing.credits import promo, purchases, service
from smile.billing.credits.schemas import AdjustmentIn, BatchIn
from smile.identity.auth import DB, AdminUser, CurrentUser
from smile.identity.sessions import client_info
from smile.kit.errors import AppError
from smile.kit.ids import new_id
from smile.kit.pagination import decode_cursor
from smile.kit.requests import DBRoute
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)

PAGE_SIZE = 25
KIND_LABELS = {
    "credit_purchase": "Purchase",
    "credit_refund": "Refund",
    "promo_redemption": "Promo code",
    "signup_grant": "Welcome credits",
    "admin_adjustment": "Adjustment",
    "credit_spend": "Spent",
    "sale": "Purchase with credits",
    "sale_refund": "Sale refunded",
    "reversal": "Reversal",
}


def _partial(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err.get("loc", ()))
    return f"{field}: {err.get('msg', 'invalid').removeprefix('Value error, ')}" if field else err.get("msg", "")


def _day(value: str, end: bool = False) -> dt.datetime | None:
    """A yyyy-mm-dd filter as a UTC instant (the start of the day, or of the next one for `until`)."""
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        return None
    return dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time(), dt.UTC)


@router.get("/billing/wallet", response_class=HTMLResponse)
async def wallet(
    request: Request,
    me: CurrentUser,
    db: DB,
    kind: str = "",
    since: str = "",
    until: str = "",
    cursor: str | None = None,
    purchase: str = "",
) -> HTMLResponse:
    filters = {"kind": kind if kind in KIND_LABELS else "", "since": since[:10], "until": until[:10]}
    if cursor:
        decode_cursor(cursor)  # a bad cursor is a 422, not a 500
    lines, next_cursor = await service.history(
        db,
        me.id,
        cursor,
        PAGE_SIZE,
        kind=filters["kind"] or None,
        since=_day(filters["since"]),
        until=_day(filters["until"], end=True),
    )
    query = {k: v for k, v in filters.items() if v}
    more_url = f"/billing/wallet?{urlencode({**query, 'cursor': next_cursor})}" if next_cursor else None
    context = {
        "lines": lines,
        "more_url": more_url,
        "labels": KIND_LABELS,
        "first_page": not cursor,
        "filters": filters,
        "filtered": bool(query),
    }
    if _partial(request):
        return render(request, "billing/credits/_history_rows.html", context)
    context |= {
        "wallet": await service.wallet_balance(db, me.id),
        "packages": [service.package_out(p) for p in await service.packages(db)],
        "series": await service.balance_series(db, me.id),
        "purchase": purchase if purchase in ("success", "cancelled") else "",
        "csv_url": "/api/v1/billing/credits/wallet/history.csv" + (f"?{urlencode(query)}" if query else ""),
    }
    return render(request, "billing/credits/wallet.html", context)


@router.get("/billing/wallet/balance", response_class=HTMLResponse)
async def balance(request: Request, me: CurrentUser, db: DB, poll: int = 0) -> HTMLResponse:
    """The balance card alone (the wallet page refreshes it while a purchase is being confirmed)."""
    return render(
        request,
        "billing/credits/_balance.html",
        {"wallet": await service.wallet_balance(db, me.id), "poll": max(0, min(poll, 30))},
    )


@router.post("/billing/wallet/buy")
async def buy(request: Request, me: CurrentUser, db: DB, package_id: Annotated[str, Form()] = "") -> Response:
    if not me.user.email_verified:
        flash(request, "Verify your email address before buying credits.", "error")
        return redirect("/billing/wallet", request)
    try:
        started = await purchases.start_purchase(db, me.user, uuid.UUID(package_id), key=None)
    except ValueError:
        flash(request, "Pick a credit package.", "error")
    except AppError as exc:
        flash(request, exc.message, "error")
    else:
        return redirect(started.checkout_url, request)
    return redirect("/billing/wallet", request)


@router.post("/billing/wallet/redeem")
async def redeem(request: Request, me: CurrentUser, db: DB, code: Annotated[str, Form()] = "") -> Response:
    if not me.user.email_verified:
        flash(request, "Verify your email address before redeeming codes.", "error")
    elif not code.strip() or len(code) > 60:
        flash(request, "Enter the promo code.", "error")
    else:
        try:
            done = await promo.redeem(db, me.user, code)
        except AppError as exc:
            flash(request, exc.message, "error")
        else:
            note = "You had already redeemed this code." if done.replayed else f"{done.amount:,} credits added."
            flash(request, f"Code {done.code}: {note}", "success")
    return redirect("/billing/wallet", request)


# ---- admin ----


@router.get("/admin/finance/promo-codes", response_class=HTMLResponse)
async def promo_codes(request: Request, admin: AdminUser, db: DB, cursor: str | None = None) -> HTMLResponse:
    batches, next_cursor = await promo.list_batches(db, cursor, PAGE_SIZE)
    return render(
        request,
        "billing/credits/admin_promo.html",
        {
            "batches": batches,
            "more_url": f"/admin/finance/promo-codes?cursor={next_cursor}" if next_cursor else None,
            "now": dt.datetime.now(dt.UTC),
        },
    )


@router.post("/admin/finance/promo-codes")
async def create_promo_batch(request: Request, admin: AdminUser, db: DB) -> Response:
    form = await request.form()
    multi = form.get("kind") == "multi"
    raw_max = str(form.get("max_uses") or "").strip()
    try:
        data = BatchIn(
            name=str(form.get("name") or ""),
            amount=form.get("amount") or 0,
            count=form.get("count") or 0,
            max_uses=(raw_max or None) if multi else 1,
            once_per_user=form.get("once_per_user") == "on",
            expires_at=str(form.get("expires_at") or "") or None,
        )
        batch = await promo.create_batch(db, admin.user, data, client_info(request)[1])
    except ValidationError as exc:
        flash(request, f"Check the form — {_first_error(exc)}", "error")
    except AppError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, f"Made {batch.count:,} codes for “{batch.name}”. Download them from the list below.", "success")
    return redirect("/admin/finance/promo-codes", request)


@router.get("/admin/finance/adjust", response_class=HTMLResponse)
async def adjust_form(request: Request, admin: AdminUser, user: str = "") -> HTMLResponse:
    return render(request, "billing/credits/admin_adjust.html", {"user": user[:320], "form_key": str(new_id())})


@router.post("/admin/finance/adjust")
async def adjust(
    request: Request,
    admin: AdminUser,
    db: DB,
    user: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = AdjustmentIn(user=user, amount=amount or 0, reason=reason)
        done = await service.adjust(db, admin.user, data, key[:100] or None, client_info(request)[1])
    except ValidationError as exc:
        flash(request, f"Check the form — {_first_error(exc)}", "error")
    except AppError as exc:
        flash(request, exc.message, "error")
    else:
        verb = "Added" if done.amount > 0 else "Took"
        flash(request, f"{verb} {abs(done.amount):,} credits; the wallet now holds {done.balance:,}.", "success")
        return redirect("/admin/finance/adjust", request)
    return redirect(f"/admin/finance/adjust?{urlencode({'user': user[:320]})}", request)
