"""Credits API schemas. Money in integer minor units; credits are integers."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smile.kit.fields import Name, int64, name

MAX_CREDITS = 10**12  # far above any real amount; keeps sums inside BIGINT


class PackageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    name: str
    price: int = Field(description="Minor units of `currency`.")
    currency: str
    credits: int
    bonus: int
    total: int = Field(description="credits + bonus")
    active: bool


class PackageCreate(BaseModel):
    slug: str = Field(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: Name
    price: int = Field(gt=0, le=10**9)
    credits: int = Field(gt=0, le=MAX_CREDITS)
    bonus: int = Field(0, ge=0, le=MAX_CREDITS)
    active: bool = True
    position: int = Field(0, ge=0, le=1000)


class PackageUpdate(BaseModel):
    name: Name | None = None
    price: int | None = Field(None, gt=0, le=10**9)
    credits: int | None = Field(None, gt=0, le=MAX_CREDITS)
    bonus: int | None = Field(None, ge=0, le=MAX_CREDITS)
    active: bool | None = None
    position: int | None = Field(None, ge=0, le=1000)


class PurchaseIn(BaseModel):
    package_id: uuid.UUID


class PurchaseOut(BaseModel):
    payment_id: uuid.UUID
    checkout_url: str = Field(description="Send the buyer here; credits arrive once the payment is confirmed.")
    package: PackageOut
    credits: int = Field(description="Credits (bonus included) this purchase will add.")


class WalletOut(BaseModel):
    currency: str = "CRD"
    balance: int
    held: int = Field(description="Reserved by running operations (e.g. an AI call in progress).")
    available: int
    low_balance_threshold: int


class HistoryLine(BaseModel):
    id: uuid.UUID
    amount: int = Field(description="+ credits in, - credits out")
    kind: str
    memo: str
    reference_type: str | None
    reference_id: str | None
    transaction_id: uuid.UUID
    created_at: dt.datetime


class RedeemIn(BaseModel):
    code: str = Field(min_length=1, max_length=60)


class RedemptionOut(BaseModel):
    id: uuid.UUID
    code: str
    amount: int
    balance: int = Field(description="The wallet's balance now.")
    redeemed_at: dt.datetime
    replayed: bool = Field(description="True when this code had already been redeemed by you (nothing new moved).")


class BatchIn(BaseModel):
    name: name(120)
    amount: int = Field(gt=0, le=MAX_CREDITS, description="Credits each redemption gives.")
    count: int = Field(gt=0, le=10_000, description="How many codes to make.")
    max_uses: int | None = Field(
        1, gt=0, le=1_000_000, description="Redemptions per code: 1 = single-use; null = unlimited."
    )
    once_per_user: bool = Field(True, description="A user may redeem only one code of this batch.")
    expires_at: dt.datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class BatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    amount: int
    count: int
    max_uses: int | None
    once_per_user: bool
    expires_at: dt.datetime | None
    created_at: dt.datetime
    redemptions: int = 0
    credits_given: int = 0


class AdjustmentIn(BaseModel):
    user: str = Field(min_length=1, max_length=320, description="Username, email or user id.")
    amount: int64(ge=-MAX_CREDITS, le=MAX_CREDITS) = Field(description="Credits: + adds to the wallet, - takes away.")
    reason: str = Field(min_length=3, max_length=500)

    @field_validator("amount")
    @classmethod
    def _nonzero(cls, value: int) -> int:
        if value == 0 or abs(value) > MAX_CREDITS:
            raise ValueError("must be a non-zero number of credits")
        return value

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if len(value.strip()) < 3:
            raise ValueError("say why (at least 3 characters)")
        return value.strip()


class AdjustmentOut(BaseModel):
    transaction_id: uuid.UUID
    user_id: uuid.UUID
    amount: int
    balance: int
    replayed: bool


class RefundIn(BaseModel):
    amount: int64(ge=1) | None = Field(None, description="Minor units; default: everything not yet refunded.")
    reason: str = Field(min_length=3, max_length=500)


class RefundOut(BaseModel):
    payment_id: uuid.UUID
    amount: int
    credits: int = Field(description="Credits reserved now and taken back when the processor confirms.")
