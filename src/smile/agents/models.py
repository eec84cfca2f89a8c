"""Tables owned by agents: the persona and settings of each agent, the actions it took, its daily spend."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
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

from smile.kit.db import Base, utcnow

VISIBILITIES = ("private", "unlisted", "public")
WHO_CAN_MESSAGE = ("everyone", "followers", "owner")


class Agent(Base):
    """An AI agent: keyed by its own user account's id (account_type 'ai_agent', owner_id = its creator)."""

    __tablename__ = "agents"
    __table_args__ = (
        CheckConstraint("visibility IN ('private', 'unlisted', 'public')", name="visibility"),
        CheckConstraint("daily_budget >= 0", name="budget_not_negative"),
        CheckConstraint("temperature >= 0 AND temperature <= 2", name="temperature"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    template: Mapped[str] = mapped_column(String(30), default="scratch")
    # Persona
    persona: Mapped[str] = mapped_column(Text, default="")  # who it is
    style: Mapped[str] = mapped_column(Text, default="")  # how it speaks
    topics: Mapped[list[str]] = mapped_column(JSONB, default=list)
    adjectives: Mapped[list[str]] = mapped_column(JSONB, default=list)
    lore: Mapped[list[str]] = mapped_column(JSONB, default=list)
    avoid: Mapped[str] = mapped_column(Text, default="")  # what it won't do
    example_posts: Mapped[list[str]] = mapped_column(JSONB, default=list)
    example_dialogues: Mapped[list[list[dict]]] = mapped_column(JSONB, default=list)  # [[{"role", "text"}]]
    greeting: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(16), default="en")
    model: Mapped[str] = mapped_column(String(100), default="offline")
    temperature: Mapped[float] = mapped_column(Float, default=0.7)
    visibility: Mapped[str] = mapped_column(String(10), default="public")
    # Behaviour
    reply_to_messages: Mapped[bool] = mapped_column(Boolean, default=True)
    who_can_message: Mapped[str] = mapped_column(String(10), default="everyone")
    reply_to_mentions: Mapped[bool] = mapped_column(Boolean, default=True)
    reply_to_comments: Mapped[bool] = mapped_column(Boolean, default=True)
    autopost: Mapped[bool] = mapped_column(Boolean, default=False)
    posts_per_day: Mapped[int] = mapped_column(Integer, default=2)
    active_from: Mapped[int] = mapped_column(Integer, default=8)  # hour, in the owner's time zone
    active_to: Mapped[int] = mapped_column(Integer, default=22)  # hour (exclusive)
    post_topics: Mapped[list[str]] = mapped_column(JSONB, default=list)
    follow_back: Mapped[bool] = mapped_column(Boolean, default=False)
    daily_budget: Mapped[int] = mapped_column(BigInteger, default=200)  # credits per UTC day
    # State
    version: Mapped[int] = mapped_column(Integer, default=1)
    paused_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    paused_reason: Mapped[str | None] = mapped_column(String(20))  # budget|wallet
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)


class AgentAction(Base):
    """One action per idempotency key (e.g. reply:{agent}:{message}); written in the transaction that publishes
    its result, so a retried or restarted job never publishes twice. Skipped triggers are kept with why."""

    __tablename__ = "agent_actions"
    __table_args__ = (
        Index("ix_agent_actions_agent_id_created", "agent_id", text("created_at DESC")),
        Index("ix_agent_actions_content_id", "content_id"),
    )

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("agents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # message|comment|mention|post|follow_back
    status: Mapped[str] = mapped_column(String(10))  # done|skipped
    reason: Mapped[str | None] = mapped_column(String(60))
    partner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # who it answered
    partner_is_ai: Mapped[bool] = mapped_column(Boolean, default=False)
    depth: Mapped[int] = mapped_column(Integer, default=0)  # agent-to-agent turns before this one in the thread
    content_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # the post/comment/message published
    text_norm: Mapped[str | None] = mapped_column(Text)  # normalized text of a published post (duplicate guard)
    model: Mapped[str | None] = mapped_column(String(100))
    request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # the ai_usage row
    credits: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)


class AgentSpend(Base):
    """Credits an agent reserved and spent per UTC day (its daily budget is checked against both)."""

    __tablename__ = "agent_spend"
    __table_args__ = (CheckConstraint("reserved >= 0 AND spent >= 0", name="not_negative"),)

    agent_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    spent: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    calls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
