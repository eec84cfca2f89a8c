"""Ledger tables. Entries and transactions are append-only (a trigger refuses UPDATE and DELETE)."""

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
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smile.kit.db import Base, IdMixin, TimestampMixin

CREDITS = "CRD"  # credits are a currency of their own


class LedgerAccount(IdMixin, TimestampMixin, Base):
    """One balance of one owner (a user, or the platform when owner_id is NULL) for one purpose and currency.

    `balance` caches the sum of the account's entries; `held` the sum of its open holds. Unless
    `allow_negative`, balance - held never drops below zero: the CHECK constraint enforces it and every
    change is a conditional UPDATE.
    """

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint(
            "owner_id",
            "purpose",
            "currency",
            name="uq_ledger_accounts_owner_purpose",
            postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint("allow_negative OR balance - held >= 0", name="not_overdrawn"),
        CheckConstraint("held >= 0", name="held_not_negative"),
    )

    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    held: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    frozen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # outgoing money frozen


class LedgerTransaction(IdMixin, TimestampMixin, Base):
    __tablename__ = "ledger_transactions"
    __table_args__ = (Index("ix_ledger_transactions_reference", "reference_type", "reference_id"),)

    kind: Mapped[str] = mapped_column(String(40), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    reference_type: Mapped[str | None] = mapped_column(String(40))
    reference_id: Mapped[str | None] = mapped_column(String(100))
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ledger_transactions.id"), unique=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))
    memo: Mapped[str] = mapped_column(String(500), default="", server_default="")
    data: Mapped[dict] = mapped_column("metadata", JSONB, default=dict, server_default=text("'{}'::jsonb"))


class LedgerEntry(IdMixin, Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_account", "account_id", "id"),
        CheckConstraint("amount <> 0", name="nonzero"),
    )

    transaction_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ledger_transactions.id"), index=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # signed: + credit to the account, - debit
    currency: Mapped[str] = mapped_column(String(3))


HOLD_STATUSES = ("open", "captured", "released", "expired")


class LedgerHold(IdMixin, TimestampMixin, Base):
    """Money reserved on an account: open → captured (full or partial) | released | expired."""

    __tablename__ = "ledger_holds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive"),
        CheckConstraint("captured >= 0 AND captured <= amount", name="captured_in_range"),
        Index("ix_ledger_holds_open_expiry", "expires_at", postgresql_where=text("status = 'open'")),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    captured: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    reference_type: Mapped[str | None] = mapped_column(String(40))
    reference_id: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(  # the capture (set with the claim: checked at commit)
        UUID(as_uuid=True), ForeignKey("ledger_transactions.id", deferrable=True, initially="DEFERRED")
    )
