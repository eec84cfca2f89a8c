"""Request and response models of sales, earnings and payouts (money in integer minor units)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from smile.kit.fields import int64, name

MAX_PRICE = 100_000_000  # 1,000,000.00 in minor units


class ListingIn(BaseModel):
    product_type: str = Field(default="digital", min_length=2, max_length=40, pattern=r"^[a-z][a-z0-9_-]+$")
    title: name(200)
    description: str = Field(default="", max_length=5000)
    price: int = Field(gt=0, le=MAX_PRICE, description="minor units (cents)")
    credit_price: int | None = Field(default=None, gt=0, le=MAX_PRICE, description="credits; omit for card only")


class ListingPatch(BaseModel):
    title: name(200) | None = None
    description: str | None = Field(default=None, max_length=5000)
    price: int | None = Field(default=None, gt=0, le=MAX_PRICE)
    credit_price: int | None = Field(default=None, gt=0, le=MAX_PRICE)
    active: bool | None = None


class ListingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    seller_id: uuid.UUID
    product_type: str
    title: str
    description: str
    price: int
    currency: str
    credit_price: int | None
    active: bool
    created_at: dt.datetime


class ListingPage(BaseModel):
    items: list[ListingOut]
    next_cursor: str | None = None


class BuyIn(BaseModel):
    method: Literal["card", "credits"] = "card"
    idempotency_key: str | None = Field(
        default=None, min_length=8, max_length=100, description="send the same key to retry safely"
    )


class SaleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    buyer_id: uuid.UUID
    seller_id: uuid.UUID
    product_type: str
    product_ref: str
    title: str
    price: int
    currency: str
    fee: int
    fee_percent: int
    seller_amount: int
    method: str
    credit_price: int | None
    status: str = Field(description="pending | escrow | released | refunded | failed")
    paid_at: dt.datetime | None
    escrow_until: dt.datetime | None
    released_at: dt.datetime | None
    refunded_at: dt.datetime | None
    refund_reason: str
    created_at: dt.datetime


class PurchaseOut(BaseModel):
    sale: SaleOut
    checkout_url: str | None = Field(description="card: send the buyer here to pay; credits: null (paid)")


class SalePage(BaseModel):
    items: list[SaleOut]
    next_cursor: str | None = None


class RefundIn(BaseModel):
    reason: str = Field(default="", max_length=500)


class DayAmount(BaseModel):
    day: dt.date
    amount: int


class EarningsOut(BaseModel):
    currency: str
    pending: int = Field(description="in escrow")
    available: int = Field(description="can be paid out")
    in_transit: int = Field(description="requested payouts not settled yet")
    paid_out: int
    payout_threshold: int
    frozen: bool
    can_request_payout: bool
    by_day: list[DayAmount]


class PayoutAccountIn(BaseModel):
    destination: str = Field(
        min_length=1, max_length=200, description="Stripe mode: the Connect account id (acct_...); sandbox: free text"
    )


class PayoutAccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    destination: str
    usable_from: dt.datetime = Field(description="payouts to a new or changed destination can start then")
    updated_at: dt.datetime


class PayoutIn(BaseModel):
    amount: int64(ge=1) | None = Field(default=None, description="minor units; default: everything available")


class PayoutOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    amount: int
    currency: str
    status: str = Field(description="review (waits for an admin) | requested | paid | failed")
    review_reason: str = Field(description="why it waits for review: first payout, or over the review limit")
    destination: str
    transfer_ref: str | None
    failure_reason: str
    settled_at: dt.datetime | None
    created_at: dt.datetime


class PayoutPage(BaseModel):
    items: list[PayoutOut]
    next_cursor: str | None = None


class AdminPayoutOut(PayoutOut):
    username: str


class AdminPayoutPage(BaseModel):
    items: list[AdminPayoutOut]
    next_cursor: str | None = None


class MarkPaidIn(BaseModel):
    reference: str = Field(default="", max_length=200, description="the bank or processor reference")


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=500)


class FrozenOut(BaseModel):
    user_id: uuid.UUID
    frozen: bool
