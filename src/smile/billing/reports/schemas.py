"""Financial report and journal shapes. Money in integer minor units of `currency`; credits in CRD."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field

Period = Literal["day", "week", "month"]


class Totals(BaseModel):
    gmv: int = Field(0, description="Paid payments plus the value of sales paid with credits")
    paid_payments: int = Field(0, description="Payments collected by the processor (counted when paid)")
    paid_payments_count: int = 0
    credit_sales: int = Field(0, description="Value of sales paid with credits")
    revenue: int = Field(0, description="Net change of the platform REVENUE account in money")
    fees: int = Field(0, description="Net change of the platform FEES account (its share of sales)")
    refunds: int = Field(0, description="Money returned to buyers (refunds and reversals of what they paid)")
    payouts_paid: int = Field(0, description="Payouts settled to sellers")
    credits_spent: int = Field(0, description="Net credits (CRD) taken into platform revenue")


class PeriodRow(Totals):
    start: dt.date
    end: dt.date = Field(description="First day after the period")


class Outstanding(BaseModel):
    """What the platform owes its users right now."""

    wallet_credits: int = Field(description="Credits (CRD) in users' wallets")
    wallet_credits_held: int = Field(description="Of which reserved by open holds")
    escrow: int = Field(description="Sellers' money in escrow")
    earnings: int = Field(description="Sellers' money available for payout")
    payouts_in_transit: int = Field(description="Payouts requested and not yet settled")
    as_of: dt.datetime


class Report(BaseModel):
    currency: str
    credits_currency: str
    period: Period
    since: dt.date = Field(description="First day of the first period")
    until: dt.date = Field(description="Last day of the last period (inclusive)")
    rows: list[PeriodRow]
    totals: Totals
    outstanding: Outstanding


class JournalEntry(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    owner_id: uuid.UUID | None = Field(description="None for the platform's accounts")
    owner_username: str | None
    purpose: str
    currency: str
    amount: int = Field(description="+ credits the account, - debits it")


class JournalTransaction(BaseModel):
    id: uuid.UUID
    kind: str
    created_at: dt.datetime
    idempotency_key: str
    reference_type: str | None
    reference_id: str | None
    memo: str
    reverses_id: uuid.UUID | None
    reversed_by_id: uuid.UUID | None
    created_by: uuid.UUID | None
    created_by_username: str | None
    data: dict
    entries: list[JournalEntry]


class JournalHold(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    amount: int
    captured: int
    status: str
    created_at: dt.datetime
    settled_at: dt.datetime | None


class JournalDetail(JournalTransaction):
    reverses: JournalTransaction | None = None
    reversed_by: JournalTransaction | None = None
    hold: JournalHold | None = Field(None, description="The hold this transaction captured, if any")
