"""Memory API shapes."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from smile.agents.memory.models import AgentMemory
from smile.identity.models import User


class MemoryEdit(BaseModel):
    text: str = Field(min_length=1, max_length=500)


class MemoryOut(BaseModel):
    id: uuid.UUID
    agent_id: uuid.UUID
    person_id: uuid.UUID
    text: str
    source: str  # rules | model | owner | person: who wrote it last
    created_at: dt.datetime
    updated_at: dt.datetime
    username: str  # the person (owner's view) or the agent (person's view)

    @classmethod
    def of(cls, memory: AgentMemory, other: User) -> MemoryOut:
        return cls(
            id=memory.id,
            agent_id=memory.agent_id,
            person_id=memory.person_id,
            text=memory.text,
            source=memory.source,
            created_at=memory.created_at,
            updated_at=memory.updated_at,
            username=other.username,
        )


class Forgotten(BaseModel):
    deleted: int
