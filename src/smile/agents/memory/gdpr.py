"""Agents' part of a data export and of an erasure (registered with identity's GDPR registry).

Export: what any agent remembers about the person; the knowledge documents the person uploaded to
their own agents. Erasure: memories about the person go; so do the memories and knowledge held by the
person's own agents (the agents are the person's; other people's memories must not outlive them).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.agents.knowledge.models import KnowledgeDocument
from smile.agents.memory.models import AgentMemory
from smile.identity.models import User
from smile.identity.profile import gdpr


def _agents_of(user: User):
    return select(User.id).where(User.owner_id == user.id, User.account_type == "ai_agent")


async def export(db: AsyncSession, user: User) -> dict[str, Any]:
    memories = (
        await db.execute(
            select(AgentMemory, User.username)
            .join(User, User.id == AgentMemory.agent_id)
            .where(AgentMemory.person_id == user.id)
            .order_by(AgentMemory.id)
        )
    ).all()
    documents = (
        await db.execute(
            select(KnowledgeDocument, User.username)
            .join(User, User.id == KnowledgeDocument.agent_id)
            .where(KnowledgeDocument.agent_id.in_(_agents_of(user)))
            .order_by(KnowledgeDocument.id)
        )
    ).all()
    return {
        "memories_about_me": [
            {
                "id": m.id,
                "agent": name,
                "agent_id": m.agent_id,
                "text": m.text,
                "source": m.source,
                "created_at": m.created_at,
                "updated_at": m.updated_at,
            }
            for m, name in memories
        ],
        "knowledge_documents": [
            {
                "id": d.id,
                "agent": name,
                "title": d.title,
                "kind": d.kind,
                "filename": d.filename,
                "created_at": d.created_at,
                "text": d.text,
            }
            for d, name in documents
        ],
    }


async def erase(db: AsyncSession, user: User) -> list[str]:
    await db.execute(delete(AgentMemory).where(AgentMemory.person_id == user.id))
    await db.execute(delete(AgentMemory).where(AgentMemory.agent_id.in_(_agents_of(user))))
    await db.execute(delete(KnowledgeDocument).where(KnowledgeDocument.agent_id.in_(_agents_of(user))))
    await db.flush()
    return []


gdpr.register("agent_memories", export=export, erase=erase)
