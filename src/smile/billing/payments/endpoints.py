"""payments: JSON API (payment history, the processor webhook, the billing portal link)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from smile.billing.payments import service
from smile.billing.payments.schemas import PaymentOut, PaymentPage, PortalOut, WebhookAck
from smile.identity.auth import DB, CurrentUser
from smile.kit.errors import responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from smile.kit.redirects import LocalPath
from smile.kit.requests import DBRoute

router = APIRouter(prefix="/api/v1/billing", route_class=DBRoute, tags=["billing"])


@router.post("/webhooks/{source}", response_model=WebhookAck, responses=responses(400, 404))
async def webhook(source: str, request: Request, db: DB) -> WebhookAck:
    """Processor events (source `stripe`, or `sandbox`), signed with Stripe's scheme (Stripe-Signature header).

    A bad signature answers 400 and stores nothing; a repeated event answers 200 and is not handled again.
    """
    body = await request.body()
    _, duplicate = await service.receive(db, source, body, request.headers.get("stripe-signature"))
    return WebhookAck(duplicate=duplicate)


@router.get("/payments", response_model=PaymentPage, responses=responses(401))
async def payments(
    principal: CurrentUser,
    db: DB,
    cursor: Annotated[str | None, Query(description="next_cursor from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> PaymentPage:
    """Your payments, newest first."""
    rows, next_cursor = await service.history(db, principal.id, cursor, limit)
    return PaymentPage(items=[PaymentOut.model_validate(p) for p in rows], next_cursor=next_cursor)


@router.get("/payments/{payment_id}", response_model=PaymentOut, responses=responses(401, 404))
async def payment(payment_id: uuid.UUID, principal: CurrentUser, db: DB) -> PaymentOut:
    return PaymentOut.model_validate(await service.for_user(db, principal.id, payment_id))


@router.post("/portal", response_model=PortalOut, responses=responses(401, 404))
async def portal(
    principal: CurrentUser, db: DB, return_url: Annotated[LocalPath, Query(max_length=500)] = "/billing/payments"
) -> PortalOut:
    """A link where you manage saved cards and processor-side subscriptions."""
    return PortalOut(url=await service.portal_url(db, principal.id, return_url))
