"""subscriptions: the /billing/subscription page (plans, your plan, cancel, resume, change, pay)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from smile.billing.payments import service as payments
from smile.billing.subscriptions import plans, service
from smile.billing.subscriptions.models import PLATFORM
from smile.identity.auth import DB, CurrentUser, VerifiedUser
from smile.kit import runtime
from smile.kit.errors import AppError
from smile.kit.money import money
from smile.kit.requests import DBRoute
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)

PAGE = service.PAGE
LABELS = {
    "post": "Post, comment and react",
    "message": "Direct messages",
    "ai_basic": "AI features, paid with credits",
    "creator_tools": "Creator tools",
    "paid_tiers": "Sell subscriptions to your followers",
    "analytics": "Audience and earnings analytics",
    "custom_profile": "Custom profile",
    "api_priority": "Priority API capacity",
    "crm_sync": "CRM sync",
    "team_seats": "Team seats",
}
STATUS_LABELS = {
    "trialing": "Free trial",
    "active": "Active",
    "past_due": "Payment overdue",
    "canceled": "Canceled",
    "expired": "Expired",
}


def day(moment) -> str:
    return f"{moment:%B} {moment.day}, {moment.year}" if moment else ""


def _order(code: str) -> tuple[int, str]:
    return (list(LABELS).index(code) if code in LABELS else len(LABELS), code)


def label(code: str) -> str:
    return LABELS.get(code, code.replace("_", " ").capitalize())


async def _cards(db, me_id: uuid.UUID, sub) -> list[dict]:
    """Each plan with what choosing it would do for this user now."""
    cards = []
    for plan in await plans.list_plans(db):
        card = {
            "plan": plan,
            "current": sub is not None and sub.plan_id == plan.id,
            "quote": None,
            "free": plan.code == plans.FREE,
            "error": None,
        }
        if sub is not None and not card["current"] and not card["free"] and sub.provider != "stripe":
            try:
                card["quote"] = await service.quote(db, me_id, sub.id, str(plan.id))
            except AppError as exc:
                card["error"] = exc.message
        cards.append(card)
    return cards


@router.get(PAGE, response_class=HTMLResponse)
async def page(request: Request, me: CurrentUser, db: DB, checkout: str | None = None) -> Response:
    sub = await service.live(db, me.id, None, PLATFORM)
    plan = await plans.get_plan(db, sub.plan_id) if sub else None
    rows, _ = await service.mine(db, me.id, None, 20)
    return render(
        request,
        "billing/subscriptions/page.html",
        {
            "sub": sub,
            "plan": plan,
            "cards": await _cards(db, me.id, sub),
            "checkout": checkout,
            "past": [(s, p) for s, p in rows if s.status not in ("trialing", "active", "past_due")],
            "entitlements": sorted(await service.entitlements(db, me.id), key=_order),
            "grace": service.grace(),
            "stripe": runtime.current().settings.payment_provider == "stripe",
            "day": day,
            "label": label,
            "status_label": STATUS_LABELS,
        },
    )


@router.get(f"{PAGE}/pending")
async def pending(request: Request, me: CurrentUser, db: DB) -> Response:
    """Polled after a checkout: reloads the page once the payment has been settled."""
    latest, _ = await payments.history(db, me.id, None, 1)
    if latest and latest[0].purpose == service.PURPOSE and latest[0].status == "pending":
        return Response(status_code=204)
    return Response(status_code=200, headers={"HX-Redirect": PAGE})


async def _act(request: Request, db, action) -> Response:
    """Run a form action; a failure is undone and shown as a message on the page."""
    try:
        return await action()
    except AppError as exc:
        db.expunge_all()
        await db.rollback()
        flash(request, exc.message, "error")
        return redirect(PAGE, request)


@router.post(f"{PAGE}/subscribe")
async def subscribe(request: Request, me: VerifiedUser, db: DB, plan: Annotated[str, Form(max_length=100)]) -> Response:
    async def go():
        payment, sub = await service.subscribe(db, me.id, plan)
        if payment is not None:
            return redirect(payment.checkout_url, request)
        flash(request, "You are subscribed.", "success")
        return redirect(PAGE, request)

    return await _act(request, db, go)


@router.post(f"{PAGE}/change")
async def change(
    request: Request,
    me: VerifiedUser,
    db: DB,
    subscription: Annotated[uuid.UUID, Form()],
    plan: Annotated[str, Form(max_length=100)],
) -> Response:
    async def go():
        q, payment = await service.change_plan(db, me.id, subscription, plan)
        if payment is not None:
            return redirect(payment.checkout_url, request)
        extra = (
            f" {money(q.proration.credit_after, q.target.currency)} of unused time comes off your next renewals."
            if q.proration.credit_after
            else ""
        )
        flash(request, f"You are on {q.target.name} now.{extra}", "success")
        return redirect(PAGE, request)

    return await _act(request, db, go)


@router.post(f"{PAGE}/cancel")
async def cancel(request: Request, me: CurrentUser, db: DB, subscription: Annotated[uuid.UUID, Form()]) -> Response:
    async def go():
        sub = await service.cancel(db, me.id, subscription)
        if sub.status == "canceled":
            flash(request, "Your subscription has ended.", "success")
        else:
            flash(request, f"Your plan cancels on {day(sub.current_period_end)}. You keep it until then.", "success")
        return redirect(PAGE, request)

    return await _act(request, db, go)


@router.post(f"{PAGE}/resume")
async def resume(request: Request, me: CurrentUser, db: DB, subscription: Annotated[uuid.UUID, Form()]) -> Response:
    async def go():
        sub = await service.resume(db, me.id, subscription)
        flash(request, f"Your plan renews on {day(sub.current_period_end)}.", "success")
        return redirect(PAGE, request)

    return await _act(request, db, go)


@router.post(f"{PAGE}/pay")
async def pay(request: Request, me: VerifiedUser, db: DB, subscription: Annotated[uuid.UUID, Form()]) -> Response:
    async def go():
        payment = await service.pay_overdue(db, me.id, subscription)
        return redirect(payment.checkout_url, request)

    return await _act(request, db, go)


@router.post(f"{PAGE}/portal")
async def portal(request: Request, me: CurrentUser, db: DB) -> Response:
    async def go():
        return redirect(await service.portal(db, me.id, PAGE), request)

    return await _act(request, db, go)
