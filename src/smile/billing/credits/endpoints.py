"""credits: JSON API — packages, purchases, wallet and history, promo codes, admin tools."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from smile.billing.credits import promo, purchases, service
from smile.billing.credits.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    BatchIn,
    BatchOut,
    HistoryLine,
    PackageCreate,
    PackageOut,
    PackageUpdate,
    PurchaseIn,
    PurchaseOut,
    RedeemIn,
    RedemptionOut,
    RefundIn,
    RefundOut,
    WalletOut,
)
from smile.identity.auth import DB, AdminUser, CurrentUser, VerifiedUser
from smile.identity.sessions import client_info
from smile.kit.errors import responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from smile.kit.requests import DBRoute, IdempotencyKey

router = APIRouter(route_class=DBRoute, tags=["credits"])

USER = "/api/v1/billing/credits"
ADMIN = "/api/v1/admin/finance"
Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
Kind = Query(None, pattern=r"^[a-z_]{1,40}$", description="Only entries of this ledger kind, e.g. credit_purchase.")
Since = Query(None, description="From this time (inclusive; ISO 8601, UTC when no offset).")
Until = Query(None, description="Before this time (exclusive).")


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


@router.get(f"{USER}/packages", response_model=list[PackageOut])
async def list_packages(db: DB) -> list[PackageOut]:
    """Credit packages on sale (price in minor units of `currency`)."""
    return [service.package_out(p) for p in await service.packages(db)]


@router.post(
    f"{USER}/purchases", response_model=PurchaseOut, status_code=201, responses=responses(401, 403, 404, 422, 429)
)
async def buy(data: PurchaseIn, me: VerifiedUser, db: DB, idempotency_key: IdempotencyKey = None) -> PurchaseOut:
    """Start buying a package: send the buyer to `checkout_url`; the credits land once the payment is confirmed."""
    return await purchases.start_purchase(db, me.user, data.package_id, idempotency_key)


@router.get(f"{USER}/wallet", response_model=WalletOut, responses=responses(401))
async def wallet(me: CurrentUser, db: DB) -> WalletOut:
    return await service.wallet_balance(db, me.id)


@router.get(f"{USER}/wallet/history", response_model=Page[HistoryLine], responses=responses(401, 422))
async def wallet_history(
    me: CurrentUser,
    db: DB,
    kind: str | None = Kind,
    since: dt.datetime | None = Since,
    until: dt.datetime | None = Until,
    cursor: str | None = None,
    limit: int = Limit,
) -> Page[HistoryLine]:
    """The wallet's movements, newest first."""
    items, next_cursor = await service.history(
        db, me.id, cursor, limit, kind=kind, since=_utc(since), until=_utc(until)
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get(f"{USER}/wallet/history.csv", response_class=StreamingResponse, responses=responses(401, 422))
async def wallet_history_csv(
    me: CurrentUser,
    db: DB,
    kind: str | None = Kind,
    since: dt.datetime | None = Since,
    until: dt.datetime | None = Until,
) -> StreamingResponse:
    """The same history as CSV (all pages), streamed."""
    await service.open_wallet(db, me.id)
    rows = service.history_csv(me.id, kind=kind, since=_utc(since), until=_utc(until))
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="smile-credits.csv"'},
    )


@router.post(f"{USER}/redeem", response_model=RedemptionOut, responses=responses(401, 403, 404, 409, 410, 422, 429))
async def redeem(data: RedeemIn, me: VerifiedUser, db: DB) -> RedemptionOut:
    """Redeem a promo code. Sending the same code again returns the first result (`replayed`)."""
    return await promo.redeem(db, me.user, data.code)


# ---- admin ----


@router.get(f"{ADMIN}/credit-packages", response_model=list[PackageOut], tags=["admin"], responses=responses(403, 404))
async def admin_packages(admin: AdminUser, db: DB) -> list[PackageOut]:
    return [service.package_out(p) for p in await service.packages(db, include_inactive=True)]


@router.post(
    f"{ADMIN}/credit-packages",
    response_model=PackageOut,
    status_code=201,
    tags=["admin"],
    responses=responses(403, 404, 409, 422),
)
async def admin_create_package(data: PackageCreate, request: Request, admin: AdminUser, db: DB) -> PackageOut:
    return service.package_out(await service.create_package(db, admin.user, data, client_info(request)[1]))


@router.patch(
    f"{ADMIN}/credit-packages/{{package_id}}",
    response_model=PackageOut,
    tags=["admin"],
    responses=responses(403, 404, 422),
)
async def admin_update_package(
    package_id: uuid.UUID, data: PackageUpdate, request: Request, admin: AdminUser, db: DB
) -> PackageOut:
    """Change price, credits, bonus, position or active (false takes it off sale)."""
    package = await service.update_package(db, admin.user, package_id, data, client_info(request)[1])
    return service.package_out(package)


@router.post(
    f"{ADMIN}/credit-adjustments",
    response_model=AdjustmentOut,
    status_code=201,
    tags=["admin"],
    responses={**responses(403, 404, 422), 402: {"description": "The wallet cannot go below zero"}},
)
async def admin_adjust(
    data: AdjustmentIn, request: Request, admin: AdminUser, db: DB, idempotency_key: IdempotencyKey = None
) -> AdjustmentOut:
    """Add (+) or take (-) credits with a reason; audited."""
    return await service.adjust(db, admin.user, data, idempotency_key, client_info(request)[1])


@router.post(
    f"{ADMIN}/credit-purchases/{{payment_id}}/refund",
    response_model=RefundOut,
    status_code=202,
    tags=["admin"],
    responses=responses(403, 404, 409, 422),
)
async def admin_refund(payment_id: uuid.UUID, data: RefundIn, request: Request, admin: AdminUser, db: DB) -> RefundOut:
    """Refund a credit purchase (409 `credits_spent` when the buyer has spent the credits)."""
    return await purchases.refund_purchase(db, admin.user, payment_id, data, client_info(request)[1])


@router.post(
    f"{ADMIN}/promo-batches",
    response_model=BatchOut,
    status_code=201,
    tags=["admin"],
    responses=responses(403, 404, 422),
)
async def admin_create_batch(data: BatchIn, request: Request, admin: AdminUser, db: DB) -> BatchOut:
    """Make `count` random codes; download them from .../codes.csv."""
    batch = await promo.create_batch(db, admin.user, data, client_info(request)[1])
    return await promo.get_batch(db, batch.id)


@router.get(f"{ADMIN}/promo-batches", response_model=Page[BatchOut], tags=["admin"], responses=responses(403, 404))
async def admin_batches(admin: AdminUser, db: DB, cursor: str | None = None, limit: int = Limit) -> Page[BatchOut]:
    items, next_cursor = await promo.list_batches(db, cursor, limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    f"{ADMIN}/promo-batches/{{batch_id}}", response_model=BatchOut, tags=["admin"], responses=responses(403, 404)
)
async def admin_batch(batch_id: uuid.UUID, admin: AdminUser, db: DB) -> BatchOut:
    return await promo.get_batch(db, batch_id)


@router.get(
    f"{ADMIN}/promo-batches/{{batch_id}}/codes.csv",
    response_class=StreamingResponse,
    tags=["admin"],
    responses=responses(403, 404),
)
async def admin_batch_csv(batch_id: uuid.UUID, request: Request, admin: AdminUser, db: DB) -> StreamingResponse:
    batch = await promo.export_batch(db, admin.user, batch_id, client_info(request)[1])
    return StreamingResponse(
        promo.batch_csv(batch.id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="promo-{batch.id}.csv"'},
    )
