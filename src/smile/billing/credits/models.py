"""Credit packages, per-user wallet state, and promo code batches, codes and redemptions."""

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
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from smile.kit.db import Base, IdMixin, TimestampMixin


class CreditPackage(IdMixin, TimestampMixin, Base):
    """A bundle of credits sold for `price` minor units of settings.currency."""

    __tablename__ = "credit_packages"
    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("credits > 0", name="credits_positive"),
        CheckConstraint("bonus >= 0", name="bonus_not_negative"),
    )

    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    price: Mapped[int] = mapped_column(BigInteger)
    credits: Mapped[int] = mapped_column(BigInteger)
    bonus: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    @property
    def total(self) -> int:
        return self.credits + self.bonus


class CreditWallet(Base):
    """What credits remembers per user: the starting grant, the low-balance notice and the payable credits.

    `low_balance_armed` is set when the available balance is at or above the threshold and
    cleared (by a conditional UPDATE) when the notice for a crossing below it is sent.
    """

    __tablename__ = "credit_wallets"
    __table_args__ = (CheckConstraint("payable >= 0", name="payable_not_negative"),)

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"), primary_key=True)
    low_balance_armed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    low_balance_notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Credits bought and still held, bonus credits counted as spent first: the only credits that may pay
    # another person (see credits.service.payable). Kept by note_wallet_change() after every posting that
    # adds to the wallet or pays a person; AI spending leaves it alone (the cap is applied lazily).
    payable: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PromoBatch(IdMixin, TimestampMixin, Base):
    """Codes made together: each worth `amount` credits, usable `max_uses` times (NULL: unlimited).

    With `once_per_user` a user may redeem only one code of the batch.
    """

    __tablename__ = "promo_batches"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("max_uses IS NULL OR max_uses > 0", name="max_uses_positive"),
    )

    name: Mapped[str] = mapped_column(String(120))
    amount: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    once_per_user: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))


class PromoCode(IdMixin, TimestampMixin, Base):
    __tablename__ = "promo_codes"
    __table_args__ = (
        CheckConstraint("max_uses IS NULL OR uses <= max_uses", name="uses_within_max"),
        Index("ix_promo_codes_batch", "batch_id", "id"),
    )

    batch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("promo_batches.id"))
    code: Mapped[str] = mapped_column(String(40), unique=True)  # normalized: upper case, no separators
    uses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    max_uses: Mapped[int | None] = mapped_column(Integer)  # copied from the batch for the conditional UPDATE


class PromoRedemption(IdMixin, TimestampMixin, Base):
    __tablename__ = "promo_redemptions"
    __table_args__ = (
        UniqueConstraint("code_id", "user_id", name="uq_promo_redemptions_code_user"),
        Index(
            "uq_promo_redemptions_batch_user",
            "batch_id",
            "user_id",
            unique=True,
            postgresql_where=text("once_per_user"),
        ),
        Index("ix_promo_redemptions_user", "user_id", "id"),
    )

    code_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("promo_codes.id"))
    batch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("promo_batches.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))
    once_per_user: Mapped[bool] = mapped_column(Boolean)
    amount: Mapped[int] = mapped_column(BigInteger)
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("ledger_transactions.id"))
