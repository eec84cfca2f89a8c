"""What an agent knows when it acts: retrieved knowledge and what it remembers about this person.

The only place that calls the knowledge and memory services (smile.agents.knowledge / smile.agents.memory),
so a reply is built the same way whichever of them is installed. Memories are recalled for one person only:
a memory about someone else never reaches this prompt.
"""

from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger("smile.agents")


@dataclass
class Context:
    knowledge: list[Any] = field(default_factory=list)  # Chunk: id, document_id, title, text, score
    memories: list[Any] = field(default_factory=list)  # Memory: id, text


def _service(name: str):
    try:
        return importlib.import_module(f"smile.agents.{name}.service")
    except ImportError:
        return None


async def gather(db: AsyncSession, agent_id: uuid.UUID, person_id: uuid.UUID | None, query: str, k: int = 5) -> Context:
    """Knowledge chunks relevant to `query`, and memories about `person_id` (none without a person)."""
    found = Context()
    if query.strip() and (knowledge := _service("knowledge")) is not None:
        found.knowledge = list(await knowledge.retrieve(db, agent_id, query, k=k))
    if person_id is not None and (memory := _service("memory")) is not None:
        found.memories = list(await memory.recall(db, agent_id, person_id, query, k=k))
    return found


async def remember(
    db: AsyncSession, agent_id: uuid.UUID, person_id: uuid.UUID, user_text: str, reply_text: str
) -> None:
    """Let the memory service learn from one exchange (nothing when it is not installed)."""
    if (memory := _service("memory")) is not None:
        await memory.remember_exchange(db, agent_id, person_id, user_text, reply_text)
