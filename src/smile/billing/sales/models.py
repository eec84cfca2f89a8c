"""Tables of sales: products on offer, sales with their escrow, payout accounts and payouts."""

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
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from smile.kit.db import Base, IdMixin, TimestampMixin

SALE_STATUSES = ("pending", "escrow", "released", "refunded", "failed")
PAYOUT_STATUSES = ("review", "requested", "paid", "failed")
METHODS = ("card", "credits")


def _uuid() -> UUID:
    return UUID(as_uuid=True)


class Listing(IdMixin, TimestampMixin, Base):
    """A generic product a seller offers (later modules sell agents, sessions, tiers through start_sale)."""

    __tablename__ = "listings"
    __table_args__ = (
        Index("ix_listings_seller_id_id", "seller_id", text("id DESC")),
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("credit_price IS NULL OR credit_price > 0", name="credit_price_positive"),
    )

    seller_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("users.id"))
    product_type: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    price: Mapped[int] = mapped_column(BigInteger)  # minor units of currency
    currency: Mapped[str] = mapped_column(String(3))
    credit_price: Mapped[int | None] = mapped_column(BigInteger)  # credits, when it can be bought with credits
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Sale(IdMixin, TimestampMixin, Base):
    """One purchase of a seller's product: pending → escrow → released, or refunded / failed.

    fee = floor(price * percent / 100) goes to the platform; price - fee waits in the seller's
    escrow until escrow_until or the buyer's confirmation, then moves to their earnings.
    """

    __tablename__ = "sales"
    __table_args__ = (
        Index("ix_sales_seller_id_id", "seller_id", text("id DESC")),
        Index("ix_sales_buyer_id_id", "buyer_id", text("id DESC")),
        Index("ix_sales_escrow_due", "escrow_until", postgresql_where=text("status = 'escrow'")),
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("fee >= 0 AND fee <= price", name="fee_in_range"),
        CheckConstraint("status IN ('pending', 'escrow', 'released', 'refunded', 'failed')", name="status"),
        CheckConstraint("method IN ('card', 'credits')", name="method"),
        CheckConstraint("buyer_id <> seller_id", name="not_self"),
    )

    buyer_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("users.id"))
    seller_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("users.id"))
    product_type: Mapped[str] = mapped_column(String(40))
    product_ref: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    price: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    fee: Mapped[int] = mapped_column(BigInteger)
    fee_percent: Mapped[int] = mapped_column()
    method: Mapped[str] = mapped_column(String(10))
    credit_price: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(_uuid(), ForeignKey("payments.id"))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(_uuid(), ForeignKey("ledger_transactions.id"))
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    escrow_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    refunded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    refunded_by: Mapped[uuid.UUID | None] = mapped_column(_uuid(), ForeignKey("users.id"))
    refund_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")

    @property
    def seller_amount(self) -> int:
        return self.price - self.fee


class PayoutAccount(Base):
    """Where a seller's payouts go: a Stripe Connect account id (Stripe mode) or free text (sandbox)."""

    __tablename__ = "payout_accounts"

    user_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("users.id"), primary_key=True)
    destination: Mapped[str] = mapped_column(String(200))
    usable_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())  # cooling-off
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Payout(IdMixin, TimestampMixin, Base):
    """Money a seller asked to be paid: [review →] requested → paid | failed. At most one open per seller.

    A seller's first payout and any payout above settings.payout_review_over wait in `review` until an
    admin approves (→ requested, then sent) or rejects it (→ failed, the money returns to earnings).
    """

    __tablename__ = "payouts"
    __table_args__ = (
        Index("ix_payouts_user_id_id", "user_id", text("id DESC")),
        Index(
            "uq_payouts_one_open", "user_id", unique=True, postgresql_where=text("status IN ('review', 'requested')")
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('review', 'requested', 'paid', 'failed')", name="status"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("users.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), default="requested", server_default="requested")
    destination: Mapped[str] = mapped_column(String(200))
    transfer_ref: Mapped[str | None] = mapped_column(String(200))
    failure_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    settled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    settled_by: Mapped[uuid.UUID | None] = mapped_column(_uuid(), ForeignKey("users.id"))
    review_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")  # why it waits
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(_uuid(), ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
