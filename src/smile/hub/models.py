"""Tables owned by the hub."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smile.kit.db import Base, IdMixin, TimestampMixin

SCOPES = ("chat", "embeddings", "models", "usage", "mcp")


class ApiKey(IdMixin, TimestampMixin, Base):
    """A bearer key for the /v1 gateway and MCP. Only a keyed hash of the secret is stored."""

    __tablename__ = "hub_api_keys"
    __table_args__ = (
        CheckConstraint("spent_credits >= 0", name="spent_not_negative"),
        CheckConstraint("credit_limit IS NULL OR spent_credits <= credit_limit", name="within_credit_limit"),
        Index("ix_hub_api_keys_user_id_id", "user_id", text("id DESC")),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(40))  # "sk-smile-AbCd…wXyZ": enough to recognise, not to use
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    allowed_models: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)  # empty = every model
    credit_limit: Mapped[int | None] = mapped_column(BigInteger)  # credits this key may spend in total
    spent_credits: Mapped[int] = mapped_column(BigInteger, default=0)
    rpm_limit: Mapped[int | None] = mapped_column(Integer)  # None: settings.hub_key_rpm
    tpm_limit: Mapped[int | None] = mapped_column(Integer)  # None: settings.hub_key_tpm
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    def status(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"
