"""sales: HTML pages — the seller's earnings dashboard, a product page, the buyer's purchases, and
(admin_pages) the admin payouts queue and account freeze."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from smile.billing.sales import admin_pages, payouts, service
from smile.identity.auth import DB, CurrentUser, require_recent_mfa
from smile.identity.mfa import service as mfa_service
from smile.kit.db import utcnow
from smile.kit.errors import AppError, Invalid
from smile.kit.requests import DBRoute
from smile.web.render import attempt, flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)
router.include_router(admin_pages.router)

PAGE_SIZE = 25


def parse_money(text: str, field: str = "price") -> int:
    """ "12.5" → 1250 minor units; refuses more than two decimals, negatives and nonsense."""
    try:
        value = Decimal(text.strip().replace(",", ""))
    except (InvalidOperation, AttributeError):
        value = None
    if value is None or not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
        raise Invalid("Enter an amount like 12.50.", fields={field: "invalid amount"})
    if value > 1_000_000:
        raise Invalid("That amount is too large.", fields={field: "too large"})
    return int(value * 100)


@router.get("/billing/earnings", response_class=HTMLResponse)
async def earnings_page(request: Request, principal: CurrentUser, db: DB, cursor: str | None = None) -> HTMLResponse:
    me = principal.id
    summary = await payouts.earnings(db, me)
    sales, more = await service.sales_of(db, me, "seller", cursor, PAGE_SIZE)
    history, _ = await payouts.payouts_of(db, me, None, 10)
    listings, _ = await service.listings_of(db, me, None, 50)
    chart = {
        "labels": [d.strftime("%b %d") for d, _ in summary.by_day],
        "values": [a for _, a in summary.by_day],
        "currency": summary.currency,
    }
    return render(
        request,
        "billing/sales/earnings.html",
        {
            "e": summary,
            "sales": sales,
            "more": more,
            "payouts": history,
            "listings": listings,
            "account": await payouts.payout_account(db, me),
            "now": utcnow(),
            "money": payouts.money,
            "chart": json.dumps(chart),
            "stripe": request.app.state.settings.payment_provider == "stripe",
            "mfa_on": principal.user.mfa_enabled,
            "mfa_recent": principal.mfa_is_recent(_mfa_minutes(request)),
        },
    )


async def _needs_mfa(request: Request, db, principal, code: str) -> bool:
    """Money leaving needs a recent two-factor check: the form may carry the code; True (and a flash) if missing."""
    code = code.strip()
    if code and principal.user.mfa_enabled and not principal.mfa_is_recent(_mfa_minutes(request)):
        try:
            await mfa_service.confirm(db, principal, code)
        except AppError as exc:
            flash(request, exc.message, "error")
            return True
    try:
        await require_recent_mfa(principal)
    except AppError as exc:
        flash(
            request,
            "Payouts need two-factor authentication: turn it on under Settings → Security."
            if exc.code == "mfa_enrolment_required"
            else "Enter your two-factor code to confirm it's you.",
            "error",
        )
        return True
    return False


def _mfa_minutes(request: Request) -> int:
    return request.app.state.settings.recent_mfa_minutes


@router.post("/billing/earnings/payout")
async def payout_form(
    request: Request, principal: CurrentUser, db: DB, code: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    if await _needs_mfa(request, db, principal, code):
        return redirect("/billing/earnings", request)
    return await attempt(
        request, db, payouts.request_payout(db, principal.id), "Payout requested.", "/billing/earnings"
    )


@router.post("/billing/earnings/payout-account")
async def payout_account_form(
    request: Request,
    principal: CurrentUser,
    db: DB,
    destination: Annotated[str, Form(max_length=200)] = "",
    code: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    if await _needs_mfa(request, db, principal, code):
        return redirect("/billing/earnings", request)
    return await attempt(
        request,
        db,
        payouts.set_payout_account(db, principal.id, destination),
        "Payout account saved.",
        "/billing/earnings",
    )


@router.post("/billing/earnings/listings")
async def listing_form(
    request: Request,
    principal: CurrentUser,
    db: DB,
    title: Annotated[str, Form(max_length=200)] = "",
    price: Annotated[str, Form(max_length=20)] = "",
    credit_price: Annotated[str, Form(max_length=12)] = "",
    product_type: Annotated[str, Form(max_length=40)] = "digital",
    description: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    async def create():
        if not principal.user.email_verified:
            raise Invalid("Verify your email address before selling.")
        if not title.strip():
            raise Invalid("Give the product a title.", fields={"title": "required"})
        credits = credit_price.strip()
        if credits and (not credits.isdigit() or int(credits) <= 0):
            raise Invalid("A credit price is a whole number of credits.", fields={"credit_price": "invalid"})
        await service.create_listing(
            db,
            principal.id,
            product_type=product_type.strip() or "digital",
            title=title,
            description=description,
            price=parse_money(price),
            credit_price=int(credits) if credits else None,
        )

    return await attempt(request, db, create(), "Product listed.", "/billing/earnings")


@router.post("/billing/earnings/listings/{listing_id}/toggle")
async def toggle_listing(
    listing_id: uuid.UUID, request: Request, principal: CurrentUser, db: DB, active: Annotated[bool, Form()] = False
) -> Response:
    action = service.update_listing(db, principal.id, listing_id, {"active": active})
    return await attempt(request, db, action, "Product updated.", "/billing/earnings")


@router.post("/billing/sales/{sale_id}/refund")
async def refund_form(
    sale_id: uuid.UUID,
    request: Request,
    principal: CurrentUser,
    db: DB,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    return await attempt(
        request,
        db,
        service.refund(db, principal.user, sale_id, reason),
        "Sale refunded; the buyer gets their money back.",
        "/billing/earnings",
    )


@router.get("/billing/listings/{listing_id}", response_class=HTMLResponse)
async def listing_page(listing_id: uuid.UUID, request: Request, principal: CurrentUser, db: DB) -> HTMLResponse:
    listing = await service.get_listing(db, principal.id, listing_id)
    return render(
        request,
        "billing/sales/listing.html",
        {
            "listing": listing,
            "money": payouts.money,
            "mine": listing.seller_id == principal.id,
            "escrow_days": request.app.state.settings.escrow_days,
        },
    )


@router.post("/billing/listings/{listing_id}/buy")
async def buy_form(
    listing_id: uuid.UUID,
    request: Request,
    principal: CurrentUser,
    db: DB,
    method: Annotated[str, Form(max_length=10)] = "card",
    key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    try:
        async with db.begin_nested():
            if not principal.user.email_verified:
                raise Invalid("Verify your email address before paying.")
            started = await service.buy_listing(db, principal.id, listing_id, method, key=key or None)
    except AppError as exc:
        flash(request, exc.message, "error")
        return redirect(f"/billing/listings/{listing_id}", request)
    if started.checkout_url:
        return redirect(started.checkout_url, request)
    flash(request, f"Paid with {started.sale.credit_price} credits. Confirm once you have what you bought.", "success")
    return redirect(f"/billing/purchases?sale={started.sale.id}", request)


@router.get("/billing/purchases", response_class=HTMLResponse)
async def purchases_page(
    request: Request, principal: CurrentUser, db: DB, cursor: str | None = None, sale: str = "", canceled: str = ""
) -> HTMLResponse:
    rows, more = await service.sales_of(db, principal.id, "buyer", cursor, PAGE_SIZE)
    return render(
        request,
        "billing/sales/purchases.html",
        {"sales": rows, "more": more, "money": payouts.money, "highlight": sale, "canceled": bool(canceled)},
    )


@router.post("/billing/purchases/{sale_id}/confirm")
async def confirm_form(sale_id: uuid.UUID, request: Request, principal: CurrentUser, db: DB) -> Response:
    return await attempt(
        request,
        db,
        service.confirm(db, principal.id, sale_id),
        "Thanks: the seller has been paid.",
        "/billing/purchases",
    )
