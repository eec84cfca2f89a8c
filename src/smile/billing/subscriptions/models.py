"""Plans and subscriptions.

A plan belongs to the platform (owner_id NULL) or to a seller (a creator's tier, an agent's
subscription) and has a product_type. Plans of one owner and product type are alternatives: a user
holds at most one live subscription among them, and changes plan within them.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smile.kit.db import Base, IdMixin, TimestampMixin

PLATFORM = "platform"  # product_type of the platform's own plans
INTERVALS = ("month", "year")
STATUSES = ("trialing", "active", "past_due", "canceled", "expired")
LIVE = ("trialing", "active", "past_due")


class Plan(IdMixin, TimestampMixin, Base):
    __tablename__ = "plans"
    __table_args__ = (
        Index(
            "uq_plans_owner_type_code",
            "owner_id",
            "product_type",
            "code",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("interval IN ('month', 'year')", name="interval_known"),
        CheckConstraint("trial_days >= 0", name="trial_not_negative"),
    )

    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))
    product_type: Mapped[str] = mapped_column(String(60), default=PLATFORM, server_default=PLATFORM)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    price: Mapped[int] = mapped_column(BigInteger)  # minor units per interval
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(10), default="month", server_default="month")
    trial_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    entitlements: Mapped[list] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # display order
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class Subscription(IdMixin, TimestampMixin, Base):
    """A user's subscription to a plan.

    trialing/active → (renewal declined) past_due → (grace over) expired; cancel_at_period_end →
    canceled at the period's end; an admin may cancel at once. `credit` is the unused value of a
    downgraded plan, taken off the next renewals (never paid out: it is not money in the ledger).
    """

    __tablename__ = "subscriptions"
    __table_args__ = (
        # one live subscription per user per plan owner and product type
        Index(
            "uq_subscriptions_live",
            "user_id",
            "owner_id",
            "product_type",
            unique=True,
            postgresql_nulls_not_distinct=True,
            postgresql_where=text("status IN ('trialing', 'active', 'past_due')"),
        ),
        Index("ix_subscriptions_user", "user_id", "id"),
        Index(
            "ix_subscriptions_due",
            "current_period_end",
            postgresql_where=text("status IN ('trialing', 'active', 'past_due')"),
        ),
        Index("ix_subscriptions_provider_ref", "provider_ref"),
        CheckConstraint("status IN ('trialing', 'active', 'past_due', 'canceled', 'expired')", name="status_known"),
        CheckConstraint("credit >= 0", name="credit_not_negative"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))
    plan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("plans.id"))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))  # the plan's
    product_type: Mapped[str] = mapped_column(String(60))  # the plan's
    status: Mapped[str] = mapped_column(String(20))
    current_period_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    current_period_end: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    trial_end: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    canceled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    past_due_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    credit: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # minor units, plan currency
    renewal_payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # a renewal charge in flight
    renewal_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # for this period
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # retry while past_due
    provider: Mapped[str | None] = mapped_column(String(20))  # sandbox | stripe
    provider_ref: Mapped[str | None] = mapped_column(String(200))  # the processor's subscription id
    customer_ref: Mapped[str | None] = mapped_column(String(200))
    first_payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("payments.id"))
    provider_synced_at: Mapped[int | None] = mapped_column(BigInteger)  # newest processor event applied (epoch s)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
