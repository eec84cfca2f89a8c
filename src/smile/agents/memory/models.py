"""Long-term memories: facts an agent keeps about one person, never shared with another."""

from __future__ import annotations

import datetime as dt
import uuid

from pgvector.sqlalchemy import Vector
from sqlalchemy import Computed, DateTime, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smile.ai.embeddings import DIMENSIONS
from smile.kit.db import Base, IdMixin, TimestampMixin, utcnow


class AgentMemory(IdMixin, TimestampMixin, Base):
    """One fact `agent_id` remembers about `person_id`; `key` is its slot (one name, many likes), so a
    repeated fact updates the row instead of adding another."""

    __tablename__ = "agent_memories"
    __table_args__ = (
        UniqueConstraint("agent_id", "person_id", "key", name="uq_agent_memories_slot"),
        Index("ix_agent_memories_person", "person_id", "id"),
    )

    agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), default="rules")  # rules | model | owner | person
    search: Mapped[str] = mapped_column(TSVECTOR, Computed("to_tsvector('english', text)", persisted=True))
    vector: Mapped[list[float] | None] = mapped_column(Vector(DIMENSIONS))
    model: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow, onupdate=utcnow
    )
