"""AI tables: the model catalog and one usage row per request."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smile.kit.db import Base, IdMixin, TimestampMixin, utcnow

# "abandoned": still pending long after its hold expired (the process died mid-call); closed by ai.sweep_pending
USAGE_STATUSES = ("pending", "ok", "client_cancelled", "upstream_error", "failed", "insufficient_credits", "abandoned")


class AiModel(Base):
    """One model alias: where it runs, what it costs (credits per 1M tokens) and what it falls back to."""

    __tablename__ = "ai_models"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the alias clients ask for
    provider: Mapped[str] = mapped_column(String(60))
    upstream_model: Mapped[str] = mapped_column(String(200))
    input_credits_per_m: Mapped[int] = mapped_column(BigInteger, default=0)
    output_credits_per_m: Mapped[int] = mapped_column(BigInteger, default=0)
    cached_credits_per_m: Mapped[int] = mapped_column(BigInteger, default=0)
    context_window: Mapped[int] = mapped_column(Integer, default=8192)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    fallbacks: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default="{}")
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow, onupdate=utcnow
    )


class AiUsage(IdMixin, TimestampMixin, Base):
    """One AI request (its id is the request id): every attempt, the tokens, the credits and the outcome.

    Inserted as `pending` when the credits are reserved, settled exactly once (the UPDATE that leaves
    `pending` is the guard).
    """

    __tablename__ = "ai_usage"
    __table_args__ = (
        Index("ix_ai_usage_user", "user_id", "id"),
        Index("ix_ai_usage_api_key", "api_key_id", "id", postgresql_where=text("api_key_id IS NOT NULL")),
        Index("ix_ai_usage_pending", "created_at", postgresql_where=text("status = 'pending'")),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    model: Mapped[str] = mapped_column(String(100))  # the alias asked for
    served_model: Mapped[str | None] = mapped_column(String(100))  # the alias that answered
    provider: Mapped[str | None] = mapped_column(String(60))
    upstream_model: Mapped[str | None] = mapped_column(String(200))
    stream: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(30), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempt_log: Mapped[list] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)  # credits held for the worst case
    credits: Mapped[int] = mapped_column(BigInteger, default=0)  # credits charged
    uncharged: Mapped[int] = mapped_column(BigInteger, default=0)  # cost the wallet could not cover
    hold_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    first_byte_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    settled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
