"""Subscriptions: request and response shapes. Money is in integer minor units of `currency`."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from smile.billing.subscriptions.models import Plan, Subscription
from smile.kit.pagination import Page


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    description: str
    owner_id: uuid.UUID | None  # None: a platform plan
    product_type: str
    price: int  # per interval, minor units
    currency: str
    interval: str  # month | year
    trial_days: int
    entitlements: list[str]


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    plan: PlanOut
    status: str  # trialing | active | past_due | canceled | expired
    current_period_start: dt.datetime
    current_period_end: dt.datetime
    trial_end: dt.datetime | None
    cancel_at_period_end: bool
    canceled_at: dt.datetime | None
    ended_at: dt.datetime | None
    renews_at: dt.datetime | None = Field(description="when the next renewal is charged; None if it will not be")
    past_due_since: dt.datetime | None
    grace_ends_at: dt.datetime | None = Field(description="past due: when it expires unless paid")
    credit: int = Field(description="carried from a downgrade; taken off the next renewals")
    provider: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, sub: Subscription, plan: Plan, grace: dt.timedelta) -> SubscriptionOut:
        renews = sub.status in ("trialing", "active") and not sub.cancel_at_period_end
        return cls(
            id=sub.id,
            plan=PlanOut.model_validate(plan),
            status=sub.status,
            current_period_start=sub.current_period_start,
            current_period_end=sub.current_period_end,
            trial_end=sub.trial_end,
            cancel_at_period_end=sub.cancel_at_period_end,
            canceled_at=sub.canceled_at,
            ended_at=sub.ended_at,
            renews_at=sub.current_period_end if renews else None,
            past_due_since=sub.past_due_since,
            grace_ends_at=sub.past_due_since + grace if sub.status == "past_due" and sub.past_due_since else None,
            credit=sub.credit,
            provider=sub.provider,
            created_at=sub.created_at,
        )


SubscriptionPage = Page[SubscriptionOut]


class SubscribeIn(BaseModel):
    plan: str = Field(min_length=1, max_length=100, description="a plan id, or a platform plan code (creator_pro)")


class CheckoutOut(BaseModel):
    checkout_url: str | None = Field(description="send the buyer here to pay; None when nothing is due")
    payment_id: uuid.UUID | None
    subscription: SubscriptionOut | None = Field(description="set when the change or subscription is already done")


class ChangeIn(BaseModel):
    plan: str = Field(min_length=1, max_length=100, description="the new plan's id or platform code")


class QuoteOut(BaseModel):
    current: PlanOut
    target: PlanOut
    currency: str
    unused: int = Field(description="value left of the current period")
    credit: int = Field(description="credit carried from an earlier downgrade")
    amount_due: int = Field(description="charged now: new price - unused - credit, never below 0")
    credit_after: int = Field(description="left over, taken off the next renewals")
    keeps_trial: bool = Field(description="changed during a free trial: nothing is charged, the trial goes on")


class ChangeOut(CheckoutOut):
    quote: QuoteOut


class EntitlementsOut(BaseModel):
    entitlements: list[str]
    subscriptions: list[SubscriptionOut] = Field(description="the live subscriptions granting them")


class AdminCancelIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500, description="why it ends now (kept in the audit log)")
