"""Long-term memories: what an agent remembers about each person, always kept to that (agent, person).

Every query here filters on both agent_id and person_id (or, for a person's own view, on person_id):
a memory about one person is never retrieved in a conversation with another. Recall ranks a person's
memories by relevance to the query (cosine similarity of embeddings when installed, else shared words)
and by recency.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.agents.knowledge.service import embed_texts, owned_agent
from smile.agents.memory import facts
from smile.agents.memory.models import AgentMemory
from smile.ai import embeddings
from smile.identity.models import User
from smile.kit.db import utcnow
from smile.kit.errors import Invalid, NotFound
from smile.kit.pagination import keyset, page_of

MAX_PER_PERSON = 200  # memories one agent keeps about one person; the least recently confirmed go first
MAX_TEXT = 500
RELEVANCE_WEIGHT = 0.75  # the rest is recency
HALF_LIFE_DAYS = 30.0
STOP = {
    "the",
    "a",
    "an",
    "is",
    "are",
    "and",
    "or",
    "to",
    "of",
    "in",
    "on",
    "for",
    "they",
    "their",
    "them",
    "my",
    "me",
    "i",
    "you",
    "your",
    "what",
    "do",
    "does",
    "did",
    "be",
    "it",
    "that",
    "this",
    "with",
}


@dataclass
class Memory:
    id: uuid.UUID
    text: str
    created_at: dt.datetime
    score: float = 0.0


def _out(row: AgentMemory, score: float = 0.0) -> Memory:
    return Memory(id=row.id, text=row.text, created_at=row.created_at, score=score)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[^\W_]+", text.lower()) if w not in STOP and len(w) > 1}


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    if not text:
        raise Invalid("Write what the agent should remember.", fields={"text": "required"})
    if len(text) > MAX_TEXT:
        raise Invalid(f"A memory is at most {MAX_TEXT} characters.", fields={"text": "too long"})
    return text


async def _vector(text: str) -> tuple[list[float] | None, str | None]:
    vectors = await embed_texts([text])
    return (vectors[0], embeddings.model_name()) if vectors is not None else (None, None)


# What the agents core calls


async def remember_exchange(
    db: AsyncSession, agent_id: uuid.UUID, person_id: uuid.UUID, user_text: str, reply_text: str = ""
) -> list[Memory]:
    """Store the facts the person stated about themself in `user_text`; returns those new or changed.

    Only the person's own words are read (never the reply, nor other people's content). A fact already
    known is not stored twice; a new value of a single-valued fact (their name, where they live) replaces
    the old one; liking something replaces disliking it.
    """
    if agent_id == person_id:
        return []
    found = facts.extract(user_text)
    if not found:
        return []
    keys = [f.key for f in found] + [key for key in map(facts.contradicted, found) if key]
    current = {
        row.key: row
        for row in await db.scalars(
            select(AgentMemory).where(
                AgentMemory.agent_id == agent_id, AgentMemory.person_id == person_id, AgentMemory.key.in_(keys)
            )
        )
    }
    changed: list[Memory] = []
    for fact in found:
        if (gone := facts.contradicted(fact)) and gone in current:
            await db.delete(current.pop(gone))
        row = current.get(fact.key)
        if row is not None and row.text == fact.text:
            row.updated_at = utcnow()  # confirmed again: counts as recent
            continue
        vector, model = await _vector(fact.text)
        values = {"text": fact.text, "source": "rules", "vector": vector, "model": model, "updated_at": utcnow()}
        statement = insert(AgentMemory).values(
            id=uuid.uuid4() if row is None else row.id, agent_id=agent_id, person_id=person_id, key=fact.key, **values
        )
        memory_id = await db.scalar(
            statement.on_conflict_do_update(constraint="uq_agent_memories_slot", set_=values).returning(AgentMemory.id)
        )
        stored = await db.get(AgentMemory, memory_id, populate_existing=True)
        changed.append(_out(stored))
    await db.flush()
    await _prune(db, agent_id, person_id)
    return changed


async def _prune(db: AsyncSession, agent_id: uuid.UUID, person_id: uuid.UUID) -> None:
    keep = (
        select(AgentMemory.id)
        .where(AgentMemory.agent_id == agent_id, AgentMemory.person_id == person_id)
        .order_by(AgentMemory.updated_at.desc(), AgentMemory.id.desc())
        .limit(MAX_PER_PERSON)
    )
    await db.execute(
        delete(AgentMemory).where(
            AgentMemory.agent_id == agent_id, AgentMemory.person_id == person_id, AgentMemory.id.not_in(keep)
        )
    )


async def recall(db: AsyncSession, agent_id: uuid.UUID, person_id: uuid.UUID, query: str, k: int = 5) -> list[Memory]:
    """The k memories about this person most relevant to `query` (and recent), best first."""
    if k <= 0:
        return []
    vector, model = await _vector(query) if (query or "").strip() else (None, None)
    columns = [AgentMemory]
    if vector is not None:
        columns.append(func.coalesce(1 - AgentMemory.vector.cosine_distance(vector), 0).label("similarity"))
    rows = (
        await db.execute(
            select(*columns)
            .where(AgentMemory.agent_id == agent_id, AgentMemory.person_id == person_id)
            .order_by(AgentMemory.updated_at.desc())
            .limit(MAX_PER_PERSON)
        )
    ).all()
    now, asked = utcnow(), _words(query or "")
    scored = []
    for row in rows:
        memory = row[0]
        if vector is not None and memory.model == model:
            relevance = max(0.0, float(row.similarity))
        else:
            words = _words(memory.text)
            relevance = len(asked & words) / len(words) if words and asked else 0.0
        age_days = max(0.0, (now - memory.updated_at).total_seconds() / 86400)
        recency = math.exp(-age_days * math.log(2) / HALF_LIFE_DAYS)
        scored.append((RELEVANCE_WEIGHT * relevance + (1 - RELEVANCE_WEIGHT) * recency, memory))
    scored.sort(key=lambda pair: (-pair[0], -pair[1].updated_at.timestamp()))
    return [_out(memory, round(score, 6)) for score, memory in scored[:k]]


async def forget_person(db: AsyncSession, agent_id: uuid.UUID | None, person_id: uuid.UUID) -> int:
    """Delete what one agent (or, with None, every agent) remembers about the person; returns how many."""
    query = delete(AgentMemory).where(AgentMemory.person_id == person_id)
    if agent_id is not None:
        query = query.where(AgentMemory.agent_id == agent_id)
    return len(list(await db.scalars(query.returning(AgentMemory.id))))


# The owner's view: every memory of their agent


async def owner_list(
    db: AsyncSession,
    owner_id: uuid.UUID,
    agent_id: uuid.UUID,
    person_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> tuple[list[tuple[AgentMemory, User]], str | None]:
    await owned_agent(db, owner_id, agent_id)
    query = (
        select(AgentMemory, User).join(User, User.id == AgentMemory.person_id).where(AgentMemory.agent_id == agent_id)
    )
    if person_id is not None:
        query = query.where(AgentMemory.person_id == person_id)
    rows = (await db.execute(keyset(query, AgentMemory.id, cursor, limit))).all()
    return page_of(list(rows), limit, id_of=lambda row: row[0].id)


async def _owned_memory(
    db: AsyncSession, owner_id: uuid.UUID, agent_id: uuid.UUID, memory_id: uuid.UUID
) -> AgentMemory:
    await owned_agent(db, owner_id, agent_id)
    memory = await db.scalar(select(AgentMemory).where(AgentMemory.id == memory_id, AgentMemory.agent_id == agent_id))
    if memory is None:
        raise NotFound("No such memory.")
    return memory


async def _edit(db: AsyncSession, memory: AgentMemory, text: str, source: str) -> AgentMemory:
    text = _clean(text)
    if text != memory.text:
        memory.vector, memory.model = await _vector(text)
        memory.text, memory.source, memory.updated_at = text, source, utcnow()
        await db.flush()
        await db.refresh(memory)
    return memory


async def owner_edit(
    db: AsyncSession, owner_id: uuid.UUID, agent_id: uuid.UUID, memory_id: uuid.UUID, text: str
) -> AgentMemory:
    return await _edit(db, await _owned_memory(db, owner_id, agent_id, memory_id), text, "owner")


async def owner_delete(db: AsyncSession, owner_id: uuid.UUID, agent_id: uuid.UUID, memory_id: uuid.UUID) -> None:
    await db.delete(await _owned_memory(db, owner_id, agent_id, memory_id))
    await db.flush()


# The person's view: what any agent remembers about them


async def person_list(
    db: AsyncSession,
    person_id: uuid.UUID,
    agent_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> tuple[list[tuple[AgentMemory, User]], str | None]:
    query = (
        select(AgentMemory, User).join(User, User.id == AgentMemory.agent_id).where(AgentMemory.person_id == person_id)
    )
    if agent_id is not None:
        query = query.where(AgentMemory.agent_id == agent_id)
    rows = (await db.execute(keyset(query, AgentMemory.id, cursor, limit))).all()
    return page_of(list(rows), limit, id_of=lambda row: row[0].id)


async def _my_memory(db: AsyncSession, person_id: uuid.UUID, memory_id: uuid.UUID) -> AgentMemory:
    memory = await db.scalar(select(AgentMemory).where(AgentMemory.id == memory_id, AgentMemory.person_id == person_id))
    if memory is None:
        raise NotFound("No such memory.")
    return memory


async def person_edit(db: AsyncSession, person_id: uuid.UUID, memory_id: uuid.UUID, text: str) -> AgentMemory:
    return await _edit(db, await _my_memory(db, person_id, memory_id), text, "person")


async def person_delete(db: AsyncSession, person_id: uuid.UUID, memory_id: uuid.UUID) -> None:
    await db.delete(await _my_memory(db, person_id, memory_id))
    await db.flush()
