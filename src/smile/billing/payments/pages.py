"""payments: HTML pages (the sandbox checkout and portal, and the payment history)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from smile.billing.payments import sandbox, service
from smile.billing.payments.models import Payment
from smile.identity.auth import DB, CurrentUser
from smile.kit.errors import NotFound
from smile.kit.money import money
from smile.kit.redirects import safe_next
from smile.kit.requests import DBRoute
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)

OPEN = ("pending", "declined")


async def _sandbox_payment(db, me, payment_id: uuid.UUID) -> Payment:
    payment = await service.for_user(db, me.id, payment_id)
    if payment.provider != "sandbox":
        raise NotFound()
    return payment


def _target(url: str, payment: Payment) -> str:
    return url.replace("{CHECKOUT_SESSION_ID}", payment.provider_ref or "")


@router.get("/billing/sandbox/checkout/{payment_id}", response_class=HTMLResponse)
async def checkout_page(request: Request, payment_id: uuid.UUID, me: CurrentUser, db: DB) -> Response:
    payment = await _sandbox_payment(db, me, payment_id)
    return render(
        request,
        "billing/payments/checkout.html",
        {
            "payment": payment,
            "price": money(payment.amount, payment.currency),
            "open": payment.status in OPEN,
            "success_url": _target(payment.data.get("success_url", "/"), payment),
            "saved_card": await service.saved_card(db, me.id),
        },
    )


@router.post("/billing/sandbox/checkout/{payment_id}")
async def checkout_submit(
    request: Request,
    payment_id: uuid.UUID,
    me: CurrentUser,
    db: DB,
    action: Annotated[str, Form()],
    save_card: Annotated[bool, Form()] = False,
    renewals_decline: Annotated[bool, Form()] = False,
) -> Response:
    """Pay, Decline or Abandon: emits the signed Stripe-shaped event through the webhook pipeline."""
    payment = await _sandbox_payment(db, me, payment_id)
    success = _target(payment.data.get("success_url", "/"), payment)
    cancel = _target(payment.data.get("cancel_url", "/"), payment)
    if payment.status not in OPEN:
        flash(request, f"This checkout is closed (the payment is {payment.status}).", "info")
        return redirect(success if payment.status != "expired" else cancel, request)
    if action == "pay":
        if save_card or payment.mode == "subscription":
            await service.remember_card(db, payment, "declines" if renewals_decline else "ok")
        obj = sandbox.checkout_object(payment)
        obj.update(payment_status="paid", status="complete")
        await sandbox.emit(db, sandbox.event(f"evt_sbx_{payment.id.hex}_paid", "checkout.session.completed", obj))
        return redirect(success, request)
    if action == "decline":
        intent = sandbox.intent_object(payment, "requires_payment_method", "Your card was declined.")
        await sandbox.emit(
            db, sandbox.event(f"evt_sbx_{payment.id.hex}_declined", "payment_intent.payment_failed", intent)
        )
        flash(request, "The sandbox card was declined.", "error")
        return redirect(cancel, request)
    if action == "abandon":
        obj = sandbox.checkout_object(payment)
        obj.update(status="expired")
        await sandbox.emit(db, sandbox.event(f"evt_sbx_{payment.id.hex}_expired", "checkout.session.expired", obj))
        return redirect(cancel, request)
    raise NotFound("Unknown checkout action; use pay, decline or abandon.")


@router.get("/billing/sandbox/portal", response_class=HTMLResponse)
async def portal_page(request: Request, me: CurrentUser, db: DB, return_url: str = "/billing/payments") -> Response:
    return render(
        request,
        "billing/payments/portal.html",
        {"saved_card": await service.saved_card(db, me.id), "return_url": safe_next(return_url, "/billing/payments")},
    )


@router.post("/billing/sandbox/portal/forget-card")
async def forget_card(request: Request, me: CurrentUser, db: DB) -> Response:
    await service.forget_card(db, me.id)
    flash(request, "The saved sandbox card was removed.", "success")
    return redirect("/billing/sandbox/portal", request)


@router.get("/billing/payments", response_class=HTMLResponse)
async def history_page(request: Request, me: CurrentUser, db: DB, cursor: str | None = None) -> Response:
    rows, next_cursor = await service.history(db, me.id, cursor, 30)
    return render(
        request,
        "billing/payments/history.html",
        {
            "payments": [(p, money(p.amount, p.currency), money(p.refunded, p.currency)) for p in rows],
            "more_url": f"/billing/payments?cursor={next_cursor}" if next_cursor else None,
        },
    )
