"""Payments: response shapes."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict

from smile.kit.pagination import Page


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    purpose: str
    reference_id: str
    description: str
    amount: int  # minor units of currency
    currency: str
    mode: str  # payment | subscription
    provider: str  # sandbox | stripe
    status: str  # pending | paid | declined | expired | refunded | partially_refunded
    refunded: int
    checkout_url: str | None
    created_at: dt.datetime
    paid_at: dt.datetime | None


PaymentPage = Page[PaymentOut]


class WebhookAck(BaseModel):
    received: bool = True
    duplicate: bool  # this event had been received before; it is not handled again


class PortalOut(BaseModel):
    url: str
