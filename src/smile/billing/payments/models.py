"""Payments and the processor events that drive them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smile.kit.db import Base, IdMixin, TimestampMixin

PAYMENT_STATUSES = ("pending", "paid", "declined", "expired", "refunded", "partially_refunded")


class Payment(IdMixin, TimestampMixin, Base):
    """One charge of a user through the processor, for a purpose (credits, subscription, sale, ...)."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_ref", name="uq_payments_provider_ref"),
        Index("ix_payments_user", "user_id", "id"),
        Index("ix_payments_purpose_reference", "purpose", "reference_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(40))  # which module's handler settles it
    reference_id: Mapped[str] = mapped_column(String(100))  # the package, plan, sale ... paid for
    description: Mapped[str] = mapped_column(String(300))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    mode: Mapped[str] = mapped_column(String(20), default="payment")  # payment | subscription
    provider: Mapped[str] = mapped_column(String(20))  # sandbox | stripe
    provider_ref: Mapped[str | None] = mapped_column(String(200))  # checkout session id
    charge_ref: Mapped[str | None] = mapped_column(String(200))  # payment intent / charge id
    customer_ref: Mapped[str | None] = mapped_column(String(200))
    subscription_ref: Mapped[str | None] = mapped_column(String(200))
    checkout_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    refunded: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    data: Mapped[dict] = mapped_column("metadata", JSONB, default=dict, server_default=text("'{}'::jsonb"))
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class PaymentEvent(IdMixin, Base):
    """A processor event, stored once (unique source + event id) before a job handles it."""

    __tablename__ = "payment_events"
    __table_args__ = (
        UniqueConstraint("source", "event_id", name="uq_payment_events_source_event"),
        Index("ix_payment_events_payment", "payment_id"),
        Index("ix_payment_events_unhandled", "received_at", postgresql_where=text("handled_at IS NULL")),
    )

    source: Mapped[str] = mapped_column(String(20))  # sandbox | stripe
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSONB)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # from metadata, when the event names it
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    handled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
