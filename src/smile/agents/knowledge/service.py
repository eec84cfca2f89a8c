"""Knowledge: add, list, preview, delete and re-index an agent's documents; hybrid retrieval.

Only the agent's owner (users.owner_id) manages its knowledge; anyone else is told 404. Retrieval fuses
a vector search (the project's embeddings, when installed) with PostgreSQL full-text search by reciprocal
rank fusion, always filtered to one agent. Without embeddings, documents are stored and found by their
words alone, and `embedded` says so.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from smile.agents.knowledge import chunking, extract
from smile.agents.knowledge.models import KnowledgeChunk, KnowledgeDocument
from smile.ai import embeddings
from smile.identity.models import User
from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.errors import AppError, Invalid, NotFound, TooLarge
from smile.kit.pagination import keyset, page_of

log = structlog.get_logger("smile.agents")

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TEXT_CHARS = 1_000_000  # pasted text, and text extracted from one file
MAX_CHUNKS_PER_AGENT = 2_000
RRF_K = 60  # reciprocal rank fusion: score = sum of 1 / (RRF_K + rank)
POOL = 40  # candidates taken from each ranking before fusion
PREVIEW_CHARS = 2_000


@dataclass
class Chunk:
    """A retrieved passage; cite it as "[title]"."""

    id: uuid.UUID
    document_id: uuid.UUID
    title: str
    text: str
    score: float
    heading: str = ""


class KnowledgeFull(AppError):
    status = 409
    code = "knowledge_full"


# Access


async def owned_agent(db: AsyncSession, owner_id: uuid.UUID, agent_id: uuid.UUID) -> User:
    """The agent `owner_id` runs; 404 for anyone else, and for ids that are not agents."""
    agent = await db.scalar(
        select(User).where(
            User.id == agent_id, User.account_type == "ai_agent", User.owner_id == owner_id, User.status != "deleted"
        )
    )
    if agent is None:
        raise NotFound("No such agent.")
    return agent


# Embeddings (optional)


def embeddings_usable() -> bool:
    return embeddings.describe(runtime.current().settings)[0]


async def embed_texts(texts: list[str]) -> list[list[float]] | None:
    """Vectors for `texts`, or None when no embeddings source is installed or it failed (full text only)."""
    if not texts or not embeddings_usable():
        return None
    try:
        out: list[list[float]] = []
        for start in range(0, len(texts), embeddings.MAX_TEXTS):
            out.extend(await embeddings.embed(texts[start : start + embeddings.MAX_TEXTS]))
        return out
    except embeddings.EmbeddingsUnavailable as exc:
        log.warning("embeddings unavailable: full-text search only", error=str(exc))
        return None


def _embedding_text(title: str, heading: str, text: str) -> str:
    return "\n".join(part for part in (title, heading, text) if part)


# Documents


def _title(title: str | None, filename: str, text: str) -> str:
    title = (title or "").strip()
    if not title and filename:
        title = filename.rsplit(".", 1)[0]
    if not title:
        first = next((line.strip("# ").strip() for line in text.split("\n") if line.strip()), "")
        title = first[:80] or "Untitled"
    return re.sub(r"\s+", " ", title)[:200]


async def _index(db: AsyncSession, document: KnowledgeDocument, pieces: list[chunking.Piece]) -> None:
    """Replace the document's chunks with `pieces`, embedded when embeddings are available."""
    await db.execute(delete(KnowledgeChunk).where(KnowledgeChunk.document_id == document.id))
    vectors = await embed_texts([_embedding_text(document.title, p.heading, p.text) for p in pieces])
    model = embeddings.model_name() if vectors is not None else None
    for position, piece in enumerate(pieces):
        db.add(
            KnowledgeChunk(
                document_id=document.id,
                agent_id=document.agent_id,
                position=position,
                heading=piece.heading,
                text=piece.text,
                model=model,
                vector=vectors[position] if vectors is not None else None,
            )
        )
    document.chunks_count, document.embedded = len(pieces), vectors is not None
    document.status, document.error, document.updated_at = "ready", None, utcnow()
    await db.flush()


async def _chunks_used(db: AsyncSession, agent_id: uuid.UUID, besides: uuid.UUID | None = None) -> int:
    query = select(func.coalesce(func.sum(KnowledgeDocument.chunks_count), 0)).where(
        KnowledgeDocument.agent_id == agent_id
    )
    if besides is not None:
        query = query.where(KnowledgeDocument.id != besides)
    return int(await db.scalar(query) or 0)


async def add_document(
    db: AsyncSession,
    owner_id: uuid.UUID,
    agent_id: uuid.UUID,
    *,
    title: str | None = None,
    filename: str = "",
    data: bytes | None = None,
    text: str | None = None,
) -> KnowledgeDocument:
    """Add a file (`filename` + `data`) or pasted `text` to the agent's knowledge; chunked and embedded now."""
    await owned_agent(db, owner_id, agent_id)
    if data is not None:
        if len(data) > MAX_FILE_BYTES:
            raise TooLarge(
                f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB. Upload a smaller file or split it.",
                fields={"file": "too large"},
            )
        kind = extract.kind_of(filename)
        text = await asyncio.to_thread(extract.extract, kind, data)
        size = len(data)
    else:
        kind, text = "text", (text or "").strip()
        size = len(text.encode())
        if not text:
            raise Invalid("Paste some text, or upload a file.", fields={"text": "required"})
    if len(text) > MAX_TEXT_CHARS:
        raise TooLarge(
            f"The text is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,} per document. "
            f"Split it into several documents.",
            fields={"text" if data is None else "file": "too long"},
        )
    pieces = chunking.split(text)
    used = await _chunks_used(db, agent_id)
    if used + len(pieces) > MAX_CHUNKS_PER_AGENT:
        raise KnowledgeFull(
            f"This document makes {len(pieces)} passages; the agent holds {used} of at most "
            f"{MAX_CHUNKS_PER_AGENT}. Delete documents you no longer need, or upload a shorter one.",
            fields={"file" if data is not None else "text": "knowledge full"},
        )
    document = KnowledgeDocument(
        agent_id=agent_id,
        title=_title(title, filename, text),
        kind=kind,
        filename=filename[:255],
        size_bytes=size,
        text=text,
        status="indexing",
        chunks_count=0,
        embedded=False,
    )
    db.add(document)
    await db.flush()
    await _index(db, document, pieces)
    return document


async def list_documents(
    db: AsyncSession, owner_id: uuid.UUID, agent_id: uuid.UUID, cursor: str | None = None, limit: int = 20
) -> tuple[list[KnowledgeDocument], str | None]:
    await owned_agent(db, owner_id, agent_id)
    rows = (
        await db.scalars(
            keyset(
                select(KnowledgeDocument).where(KnowledgeDocument.agent_id == agent_id),
                KnowledgeDocument.id,
                cursor,
                limit,
            )
        )
    ).all()
    return page_of(list(rows), limit)


async def get_document(
    db: AsyncSession, owner_id: uuid.UUID, agent_id: uuid.UUID, document_id: uuid.UUID
) -> tuple[KnowledgeDocument, list[KnowledgeChunk]]:
    """The document and its first chunks (a preview)."""
    await owned_agent(db, owner_id, agent_id)
    document = await db.scalar(
        select(KnowledgeDocument).where(KnowledgeDocument.id == document_id, KnowledgeDocument.agent_id == agent_id)
    )
    if document is None:
        raise NotFound("No such document.")
    chunks = (
        await db.scalars(
            select(KnowledgeChunk)
            .where(KnowledgeChunk.document_id == document_id)
            .order_by(KnowledgeChunk.position)
            .limit(5)
        )
    ).all()
    return document, list(chunks)


async def delete_document(db: AsyncSession, owner_id: uuid.UUID, agent_id: uuid.UUID, document_id: uuid.UUID) -> None:
    await owned_agent(db, owner_id, agent_id)
    gone = await db.scalar(
        delete(KnowledgeDocument)
        .where(KnowledgeDocument.id == document_id, KnowledgeDocument.agent_id == agent_id)
        .returning(KnowledgeDocument.id)
    )
    if gone is None:
        raise NotFound("No such document.")


async def request_reindex(
    db: AsyncSession, owner_id: uuid.UUID, agent_id: uuid.UUID, document_id: uuid.UUID | None = None
) -> int:
    """Mark the agent's documents (or one) for re-indexing and queue the job; returns how many."""
    from smile.agents.knowledge import tasks
    from smile.kit import jobs

    await owned_agent(db, owner_id, agent_id)
    query = update(KnowledgeDocument).where(KnowledgeDocument.agent_id == agent_id)
    if document_id is not None:
        query = query.where(KnowledgeDocument.id == document_id)
    ids = list(await db.scalars(query.values(status="indexing", updated_at=utcnow()).returning(KnowledgeDocument.id)))
    if document_id is not None and not ids:
        raise NotFound("No such document.")
    if ids:
        await jobs.defer(db, tasks.reindex_job, agent_id=str(agent_id), queueing_lock=f"knowledge-reindex:{agent_id}")
    return len(ids)


async def reindex(db: AsyncSession, agent_id: uuid.UUID) -> int:
    """Job body: re-chunk and re-embed every document of the agent marked `indexing`. Idempotent."""
    documents = (
        await db.scalars(
            select(KnowledgeDocument)
            .where(KnowledgeDocument.agent_id == agent_id, KnowledgeDocument.status == "indexing")
            .order_by(KnowledgeDocument.id)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for document in documents:
        await _index(db, document, chunking.split(document.text))
    return len(documents)


# Retrieval


def or_query(text: str, limit: int = 48) -> str:
    """A to_tsquery string matching any of the text's words (stop words are dropped by PostgreSQL)."""
    words = list(dict.fromkeys(w for w in re.findall(r"[^\W_]+", text.lower()) if len(w) > 1))[:limit]
    return " | ".join(words)


def fuse(rankings: list[list[uuid.UUID]]) -> dict[uuid.UUID, float]:
    """Reciprocal rank fusion of several rankings (best first)."""
    scores: dict[uuid.UUID, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
    return scores


async def retrieve(db: AsyncSession, agent_id: uuid.UUID, query: str, k: int = 5) -> list[Chunk]:
    """The k passages of this agent's knowledge that best answer `query`, best first (vector + full text)."""
    query = (query or "").strip()[:4000]
    if not query or k <= 0:
        return []
    rankings: list[list[uuid.UUID]] = []
    vectors = await embed_texts([query])
    if vectors is not None:
        distance = KnowledgeChunk.vector.cosine_distance(vectors[0])
        rankings.append(
            list(
                await db.scalars(
                    select(KnowledgeChunk.id)
                    .where(KnowledgeChunk.agent_id == agent_id, KnowledgeChunk.model == embeddings.model_name())
                    .order_by(distance)
                    .limit(POOL)
                )
            )
        )
    words = or_query(query)
    if words:
        tsquery = func.to_tsquery("english", words)
        rankings.append(
            list(
                await db.scalars(
                    select(KnowledgeChunk.id)
                    .where(KnowledgeChunk.agent_id == agent_id, KnowledgeChunk.search.op("@@")(tsquery))
                    .order_by(func.ts_rank_cd(KnowledgeChunk.search, tsquery).desc(), KnowledgeChunk.id)
                    .limit(POOL)
                )
            )
        )
    scores = fuse(rankings)
    best = sorted(scores, key=lambda key: -scores[key])[:k]
    if not best:
        return []
    rows = {
        row.id: row
        for row in (
            await db.execute(
                select(
                    KnowledgeChunk.id,
                    KnowledgeChunk.document_id,
                    KnowledgeChunk.heading,
                    KnowledgeChunk.text,
                    KnowledgeDocument.title,
                )
                .join(KnowledgeDocument, KnowledgeDocument.id == KnowledgeChunk.document_id)
                .where(KnowledgeChunk.id.in_(best), KnowledgeChunk.agent_id == agent_id)
            )
        ).all()
    }
    return [
        Chunk(
            id=key,
            document_id=rows[key].document_id,
            title=rows[key].title,
            text=rows[key].text,
            score=round(scores[key], 6),
            heading=rows[key].heading,
        )
        for key in best
        if key in rows
    ]
