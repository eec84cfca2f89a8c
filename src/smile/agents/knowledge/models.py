"""Knowledge tables: an agent's documents and their chunks (text, full-text vector, embedding)."""

from __future__ import annotations

import datetime as dt
import uuid

from pgvector.sqlalchemy import Vector
from sqlalchemy import BigInteger, Boolean, Computed, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smile.ai.embeddings import DIMENSIONS
from smile.kit.db import Base, IdMixin, TimestampMixin, utcnow


class KnowledgeDocument(IdMixin, TimestampMixin, Base):
    """One uploaded file or pasted text; `text` is what was extracted from it (kept to preview and re-index)."""

    __tablename__ = "agent_knowledge_documents"
    __table_args__ = (Index("ix_agent_knowledge_documents_agent", "agent_id", "id"),)

    agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # txt | md | pdf | html | csv | docx | text (pasted)
    filename: Mapped[str] = mapped_column(String(255), default="")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    text: Mapped[str] = mapped_column(Text)
    chunks_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="ready")  # ready | indexing | failed
    embedded: Mapped[bool] = mapped_column(Boolean, default=False)  # its chunks carry vectors
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow, onupdate=utcnow
    )


class KnowledgeChunk(IdMixin, Base):
    """A passage of a document, searchable by words (`search`) and by meaning (`vector`, when embedded).

    `agent_id` is copied from the document so retrieval filters to one agent without a join; each agent's
    chunks are capped, so an exact scan of them (btree on agent_id) beats an approximate index here.
    """

    __tablename__ = "agent_knowledge_chunks"
    __table_args__ = (
        Index("ix_agent_knowledge_chunks_agent", "agent_id"),
        Index("ix_agent_knowledge_chunks_document", "document_id", "position"),
        Index("ix_agent_knowledge_chunks_search", "search", postgresql_using="gin"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("agent_knowledge_documents.id", ondelete="CASCADE")
    )
    agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text)
    search: Mapped[str] = mapped_column(
        TSVECTOR, Computed("to_tsvector('english', coalesce(heading, '') || ' ' || text)", persisted=True)
    )
    vector: Mapped[list[float] | None] = mapped_column(Vector(DIMENSIONS))
    model: Mapped[str | None] = mapped_column(String(100))  # the embedding model of `vector`
