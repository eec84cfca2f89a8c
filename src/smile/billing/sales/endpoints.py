"""sales: JSON API — listings, purchases, escrow confirm and refund, earnings, payouts, admin payouts and freeze."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from smile.billing.sales import payouts, service
from smile.billing.sales.schemas import (
    AdminPayoutOut,
    AdminPayoutPage,
    BuyIn,
    DayAmount,
    EarningsOut,
    FrozenOut,
    ListingIn,
    ListingOut,
    ListingPage,
    ListingPatch,
    MarkPaidIn,
    PayoutAccountIn,
    PayoutAccountOut,
    PayoutIn,
    PayoutOut,
    PayoutPage,
    PurchaseOut,
    ReasonIn,
    RefundIn,
    SaleOut,
    SalePage,
)
from smile.identity.auth import DB, AdminUser, CurrentUser, RecentMfaUser, VerifiedUser
from smile.identity.sessions import client_info
from smile.kit.errors import ErrorBody, NotFound, responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from smile.kit.requests import DBRoute, IdempotencyKey

router = APIRouter(prefix="/api/v1/billing", route_class=DBRoute, tags=["billing: sales"])

Cursor = Annotated[str | None, Query(description="next_cursor from the previous page")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
PAYMENT_REQUIRED = {402: {"model": ErrorBody, "description": "The wallet's balance is too low"}}


def _sale(sale) -> SaleOut:
    return SaleOut.model_validate(sale)


@router.post("/listings", status_code=201, response_model=ListingOut, responses=responses(401, 403, 422))
async def create_listing(body: ListingIn, principal: VerifiedUser, db: DB) -> ListingOut:
    """Offer a product for sale (price in minor units of the platform currency; optional credit price)."""
    listing = await service.create_listing(db, principal.id, **body.model_dump())
    return ListingOut.model_validate(listing)


@router.get("/listings", response_model=ListingPage, responses=responses(401))
async def my_listings(principal: CurrentUser, db: DB, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT):
    rows, next_cursor = await service.listings_of(db, principal.id, cursor, limit)
    return ListingPage(items=[ListingOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/listings/{listing_id}", response_model=ListingOut, responses=responses(401, 404))
async def get_listing(listing_id: uuid.UUID, principal: CurrentUser, db: DB) -> ListingOut:
    return ListingOut.model_validate(await service.get_listing(db, principal.id, listing_id))


@router.patch("/listings/{listing_id}", response_model=ListingOut, responses=responses(401, 404, 422))
async def update_listing(listing_id: uuid.UUID, body: ListingPatch, principal: CurrentUser, db: DB) -> ListingOut:
    listing = await service.update_listing(db, principal.id, listing_id, body.model_dump(exclude_unset=True))
    return ListingOut.model_validate(listing)


@router.post(
    "/listings/{listing_id}/buy",
    status_code=201,
    response_model=PurchaseOut,
    responses={**responses(401, 403, 404, 409, 422, 429), **PAYMENT_REQUIRED},
)
async def buy(
    listing_id: uuid.UUID, body: BuyIn, principal: VerifiedUser, db: DB, idempotency_key: IdempotencyKey = None
) -> PurchaseOut:
    """Buy by card (open checkout_url to pay) or by credits (paid at once; 402 when the wallet is short).

    The seller's share waits in escrow until the buyer confirms or the escrow period ends.
    """
    started = await service.buy_listing(
        db, principal.id, listing_id, body.method, key=body.idempotency_key or idempotency_key
    )
    return PurchaseOut(sale=_sale(started.sale), checkout_url=started.checkout_url)


@router.get("/sales", response_model=SalePage, responses=responses(401))
async def list_sales(
    principal: CurrentUser,
    db: DB,
    role: Literal["buyer", "seller"] = "seller",
    status: Literal["pending", "escrow", "released", "refunded", "failed"] | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> SalePage:
    """Your sales (role=seller) or purchases (role=buyer), newest first."""
    rows, next_cursor = await service.sales_of(db, principal.id, role, cursor, limit, status)
    return SalePage(items=[_sale(s) for s in rows], next_cursor=next_cursor)


@router.get("/sales/{sale_id}", response_model=SaleOut, responses=responses(401, 404))
async def get_sale(sale_id: uuid.UUID, principal: CurrentUser, db: DB) -> SaleOut:
    return _sale(await service.get_sale(db, principal.user, sale_id))


@router.post("/sales/{sale_id}/confirm", response_model=SaleOut, responses=responses(401, 404, 409))
async def confirm(sale_id: uuid.UUID, principal: CurrentUser, db: DB) -> SaleOut:
    """The buyer confirms delivery: the seller's share leaves escrow now."""
    return _sale(await service.confirm(db, principal.id, sale_id))


@router.post("/sales/{sale_id}/refund", response_model=SaleOut, responses=responses(401, 403, 404, 409))
async def refund(sale_id: uuid.UUID, body: RefundIn, principal: CurrentUser, db: DB) -> SaleOut:
    """The seller (or an admin) refunds a sale still in escrow; 409 once the escrow was released."""
    return _sale(await service.refund(db, principal.user, sale_id, body.reason))


@router.get("/earnings", response_model=EarningsOut, responses=responses(401))
async def earnings(principal: CurrentUser, db: DB, days: Annotated[int, Query(ge=1, le=366)] = 30) -> EarningsOut:
    """Pending (escrow), available, in transit and paid-out totals, and the seller's share of sales per day."""
    e = await payouts.earnings(db, principal.id, days)
    return EarningsOut(
        currency=e.currency,
        pending=e.pending,
        available=e.available,
        in_transit=e.in_transit,
        paid_out=e.paid_out,
        payout_threshold=e.threshold,
        frozen=e.frozen,
        can_request_payout=e.can_request,
        by_day=[DayAmount(day=d, amount=a) for d, a in e.by_day],
    )


@router.get("/payout-account", response_model=PayoutAccountOut, responses=responses(401, 404))
async def get_payout_account(principal: CurrentUser, db: DB) -> PayoutAccountOut:
    account = await payouts.payout_account(db, principal.id)
    if account is None:
        raise NotFound("No payout account set yet.")
    return PayoutAccountOut.model_validate(account)


@router.put("/payout-account", response_model=PayoutAccountOut, responses=responses(401, 403, 422))
async def set_payout_account(body: PayoutAccountIn, principal: RecentMfaUser, db: DB) -> PayoutAccountOut:
    """Where payouts go. Changing it needs a recent two-factor check."""
    return PayoutAccountOut.model_validate(await payouts.set_payout_account(db, principal.id, body.destination))


@router.post("/payouts", status_code=201, response_model=PayoutOut, responses=responses(401, 403, 409, 422, 429))
async def request_payout(body: PayoutIn, principal: RecentMfaUser, db: DB) -> PayoutOut:
    """Pay out available earnings (at least the threshold; one open payout at a time; recent 2FA needed)."""
    return PayoutOut.model_validate(await payouts.request_payout(db, principal.id, body.amount))


@router.get("/payouts", response_model=PayoutPage, responses=responses(401))
async def payout_history(
    principal: CurrentUser, db: DB, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> PayoutPage:
    rows, next_cursor = await payouts.payouts_of(db, principal.id, cursor, limit)
    return PayoutPage(items=[PayoutOut.model_validate(p) for p in rows], next_cursor=next_cursor)


# ---------------------------------------------------------------- admin


def _admin_payout(payout, username: str) -> AdminPayoutOut:
    return AdminPayoutOut(**PayoutOut.model_validate(payout).model_dump(), username=username)


@router.get("/admin/payouts", response_model=AdminPayoutPage, responses=responses(401, 403, 404))
async def admin_payouts(
    admin: AdminUser,
    db: DB,
    status: Literal["review", "requested", "paid", "failed"] | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> AdminPayoutPage:
    rows, next_cursor = await payouts.admin_payouts(db, status, cursor, limit)
    return AdminPayoutPage(items=[_admin_payout(p, u) for p, u in rows], next_cursor=next_cursor)


@router.post("/admin/payouts/{payout_id}/approve", response_model=PayoutOut, responses=responses(401, 403, 404, 409))
async def approve_payout(payout_id: uuid.UUID, admin: AdminUser, db: DB, request: Request) -> PayoutOut:
    """Approve a payout waiting in review (a seller's first, or one over the review limit): it goes out
    (Stripe: by the transfer job; sandbox: mark it paid once sent). Reject with /failed. Audited."""
    return PayoutOut.model_validate(await payouts.approve(db, admin.user, payout_id, ip=client_info(request)[1]))


@router.post("/admin/payouts/{payout_id}/paid", response_model=PayoutOut, responses=responses(401, 403, 404, 409))
async def mark_paid(payout_id: uuid.UUID, body: MarkPaidIn, admin: AdminUser, db: DB, request: Request) -> PayoutOut:
    """Mark a requested payout as sent (sandbox, or paid outside smile). Audited."""
    payout = await payouts.mark_paid(db, admin.user, payout_id, body.reference, ip=client_info(request)[1])
    return PayoutOut.model_validate(payout)


@router.post(
    "/admin/payouts/{payout_id}/failed", response_model=PayoutOut, responses=responses(401, 403, 404, 409, 422)
)
async def mark_failed(payout_id: uuid.UUID, body: ReasonIn, admin: AdminUser, db: DB, request: Request) -> PayoutOut:
    """Mark a requested payout as failed, or reject one in review: its money returns to the seller's
    available earnings. Audited."""
    payout = await payouts.mark_failed(db, admin.user, payout_id, body.reason, ip=client_info(request)[1])
    return PayoutOut.model_validate(payout)


@router.post("/admin/users/{user_id}/freeze", response_model=FrozenOut, responses=responses(401, 403, 404, 422))
async def freeze(user_id: uuid.UUID, body: ReasonIn, admin: AdminUser, db: DB, request: Request) -> FrozenOut:
    """Freeze an account's outgoing money: no spending, no payouts (incoming money still lands). Audited."""
    await payouts.set_frozen(db, admin.user, user_id, True, body.reason, ip=client_info(request)[1])
    return FrozenOut(user_id=user_id, frozen=True)


@router.post("/admin/users/{user_id}/unfreeze", response_model=FrozenOut, responses=responses(401, 403, 404))
async def unfreeze(user_id: uuid.UUID, body: ReasonIn, admin: AdminUser, db: DB, request: Request) -> FrozenOut:
    await payouts.set_frozen(db, admin.user, user_id, False, body.reason, ip=client_info(request)[1])
    return FrozenOut(user_id=user_id, frozen=False)
