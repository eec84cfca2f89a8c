"""Knowledge API shapes."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from smile.agents.knowledge.models import KnowledgeChunk, KnowledgeDocument


class TextIn(BaseModel):
    """Pasted text (send a file as multipart/form-data with a `file` field and an optional `title`)."""

    title: str | None = Field(None, max_length=200)
    text: str = Field(min_length=1, max_length=1_000_000)


class DocumentOut(BaseModel):
    id: uuid.UUID
    agent_id: uuid.UUID
    title: str
    kind: str
    filename: str
    size_bytes: int
    chunks_count: int
    status: str  # ready | indexing | failed
    embedded: bool  # false: found by its words only (no embeddings installed)
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, d: KnowledgeDocument) -> DocumentOut:
        return cls(
            id=d.id,
            agent_id=d.agent_id,
            title=d.title,
            kind=d.kind,
            filename=d.filename,
            size_bytes=d.size_bytes,
            chunks_count=d.chunks_count,
            status=d.status,
            embedded=d.embedded,
            created_at=d.created_at,
            updated_at=d.updated_at,
        )


class ChunkOut(BaseModel):
    id: uuid.UUID
    position: int
    heading: str
    text: str


class DocumentDetail(DocumentOut):
    preview: str  # the start of the extracted text
    chunks: list[ChunkOut]  # the first passages, as retrieval sees them

    @classmethod
    def detail(cls, d: KnowledgeDocument, chunks: list[KnowledgeChunk], preview_chars: int) -> DocumentDetail:
        return cls(
            **DocumentOut.of(d).model_dump(),
            preview=d.text[:preview_chars],
            chunks=[ChunkOut(id=c.id, position=c.position, heading=c.heading, text=c.text) for c in chunks],
        )


class Reindexing(BaseModel):
    documents: int  # how many documents were queued for re-indexing


class SearchHit(BaseModel):
    id: uuid.UUID
    document_id: uuid.UUID
    title: str
    heading: str
    text: str
    score: float
