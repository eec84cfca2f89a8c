"""subscriptions: JSON API under /api/v1/billing (plans, subscriptions, entitlements)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from smile.billing.subscriptions import plans, service
from smile.billing.subscriptions.models import PLATFORM, Subscription
from smile.billing.subscriptions.schemas import (
    AdminCancelIn,
    ChangeIn,
    ChangeOut,
    CheckoutOut,
    EntitlementsOut,
    PlanOut,
    QuoteOut,
    SubscribeIn,
    SubscriptionOut,
    SubscriptionPage,
)
from smile.identity.auth import DB, AdminUser, CurrentUser, VerifiedUser
from smile.identity.sessions import client_info
from smile.kit.errors import responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from smile.kit.requests import DBRoute, IdempotencyKey

router = APIRouter(prefix="/api/v1/billing", route_class=DBRoute, tags=["billing"])

Cursor = Annotated[str | None, Query(description="next_cursor from the previous page")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


async def _out(db, sub: Subscription) -> SubscriptionOut:
    return SubscriptionOut.of(sub, await plans.get_plan(db, sub.plan_id), service.grace())


def _key(principal, key: str | None, action: str) -> str | None:
    return f"subscription:{action}:{principal.id}:{key}" if key else None


@router.get("/plans", response_model=list[PlanOut], responses=responses(422))
async def list_plans(db: DB, owner_id: uuid.UUID | None = None, product_type: str = PLATFORM) -> list[PlanOut]:
    """Plans on offer: the platform's (Free, Creator Pro, Business) unless an owner and product type are given."""
    return [
        PlanOut.model_validate(p) for p in await plans.list_plans(db, owner_id=owner_id, product_type=product_type[:60])
    ]


@router.post(
    "/subscriptions", response_model=CheckoutOut, status_code=201, responses=responses(401, 403, 404, 409, 422, 429)
)
async def subscribe(
    body: SubscribeIn, principal: VerifiedUser, db: DB, idempotency_key: IdempotencyKey = None
) -> CheckoutOut:
    """Subscribe to a plan: answers a checkout_url to pay at (a free plan of a seller starts at once)."""
    payment, sub = await service.subscribe(
        db, principal.id, body.plan, key=_key(principal, idempotency_key, "subscribe")
    )
    return CheckoutOut(
        checkout_url=payment.checkout_url if payment else None,
        payment_id=payment.id if payment else None,
        subscription=await _out(db, sub) if sub else None,
    )


@router.get("/subscriptions", response_model=SubscriptionPage, responses=responses(401))
async def my_subscriptions(
    principal: CurrentUser, db: DB, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> SubscriptionPage:
    """Your subscriptions, newest first (ended ones included)."""
    rows, next_cursor = await service.mine(db, principal.id, cursor, limit)
    return SubscriptionPage(items=[SubscriptionOut.of(s, p, service.grace()) for s, p in rows], next_cursor=next_cursor)


@router.get("/entitlements", response_model=EntitlementsOut, responses=responses(401))
async def my_entitlements(principal: CurrentUser, db: DB) -> EntitlementsOut:
    """What your plans let you do (Free's for everyone, plus those of each plan you hold)."""
    granted = await service.entitlements(db, principal.id)
    rows, _ = await service.mine(db, principal.id, None, MAX_LIMIT)
    return EntitlementsOut(
        entitlements=sorted(granted),
        subscriptions=[
            SubscriptionOut.of(s, p, service.grace()) for s, p in rows if s.status in ("trialing", "active", "past_due")
        ],
    )


@router.get("/subscriptions/{sub_id}", response_model=SubscriptionOut, responses=responses(401, 404))
async def get_subscription(sub_id: uuid.UUID, principal: CurrentUser, db: DB) -> SubscriptionOut:
    return await _out(db, await service.get(db, principal.id, sub_id))


@router.post("/subscriptions/{sub_id}/cancel", response_model=SubscriptionOut, responses=responses(401, 404, 409))
async def cancel(sub_id: uuid.UUID, principal: CurrentUser, db: DB) -> SubscriptionOut:
    """Cancel at the end of the paid period (a past-due subscription ends now)."""
    return await _out(db, await service.cancel(db, principal.id, sub_id))


@router.post("/subscriptions/{sub_id}/resume", response_model=SubscriptionOut, responses=responses(401, 404, 409))
async def resume(sub_id: uuid.UUID, principal: CurrentUser, db: DB) -> SubscriptionOut:
    """Keep a subscription that was set to cancel at period end."""
    return await _out(db, await service.resume(db, principal.id, sub_id))


@router.get("/subscriptions/{sub_id}/change", response_model=QuoteOut, responses=responses(401, 404, 409, 422))
async def quote_change(
    sub_id: uuid.UUID, principal: CurrentUser, db: DB, plan: Annotated[str, Query(min_length=1, max_length=100)]
) -> QuoteOut:
    """What changing to `plan` now would cost (upgrade) or leave as credit (downgrade)."""
    return _quote(await service.quote(db, principal.id, sub_id, plan))


@router.post("/subscriptions/{sub_id}/change", response_model=ChangeOut, responses=responses(401, 403, 404, 409, 422))
async def change(
    sub_id: uuid.UUID, body: ChangeIn, principal: VerifiedUser, db: DB, idempotency_key: IdempotencyKey = None
) -> ChangeOut:
    """Change plan. Nothing due: done at once. Otherwise pay the prorated amount at checkout_url."""
    q, payment = await service.change_plan(
        db, principal.id, sub_id, body.plan, key=_key(principal, idempotency_key, f"change:{sub_id}")
    )
    return ChangeOut(
        quote=_quote(q),
        checkout_url=payment.checkout_url if payment else None,
        payment_id=payment.id if payment else None,
        subscription=None if payment else await _out(db, q.subscription),
    )


@router.post("/subscriptions/{sub_id}/pay", response_model=CheckoutOut, responses=responses(401, 403, 404, 409))
async def pay_overdue(
    sub_id: uuid.UUID, principal: VerifiedUser, db: DB, idempotency_key: IdempotencyKey = None
) -> CheckoutOut:
    """Pay a past-due renewal at a checkout (e.g. with another card)."""
    payment = await service.pay_overdue(db, principal.id, sub_id, key=_key(principal, idempotency_key, f"pay:{sub_id}"))
    return CheckoutOut(checkout_url=payment.checkout_url, payment_id=payment.id, subscription=None)


@router.get("/admin/subscriptions", response_model=SubscriptionPage, responses=responses(401, 403, 404))
async def admin_list(
    user_id: uuid.UUID, principal: AdminUser, db: DB, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> SubscriptionPage:
    """A user's subscriptions (admins)."""
    rows, next_cursor = await service.mine(db, user_id, cursor, limit)
    return SubscriptionPage(items=[SubscriptionOut.of(s, p, service.grace()) for s, p in rows], next_cursor=next_cursor)


@router.post(
    "/admin/subscriptions/{sub_id}/cancel", response_model=SubscriptionOut, responses=responses(401, 403, 404, 409)
)
async def admin_cancel(
    sub_id: uuid.UUID, body: AdminCancelIn, request: Request, principal: AdminUser, db: DB
) -> SubscriptionOut:
    """End a subscription now (admins; audited). Refund its payment separately if that is owed."""
    return await _out(db, await service.admin_cancel(db, principal.id, sub_id, body.reason, ip=client_info(request)[1]))


def _quote(q: service.Quote) -> QuoteOut:
    p = q.proration
    return QuoteOut(
        current=PlanOut.model_validate(q.current),
        target=PlanOut.model_validate(q.target),
        currency=q.target.currency,
        unused=p.unused,
        credit=p.credit,
        amount_due=p.amount_due,
        credit_after=p.credit_after,
        keeps_trial=q.keeps_trial,
    )
