"""The agents module's part of a data export and of an erasure (registered with identity's GDPR registry).

Export: the agents the person runs (their character files and settings) and what each did.
Erasure: the person's agents are erased with them (each agent's account goes through the same erasure).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.agents import character
from smile.agents.models import Agent, AgentAction
from smile.identity.models import User
from smile.identity.profile import gdpr


async def export(db: AsyncSession, user: User) -> dict[str, Any]:
    out = []
    for agent, account in (
        await db.execute(
            select(Agent, User).join(User, User.id == Agent.id).where(Agent.owner_id == user.id).order_by(Agent.id)
        )
    ).all():
        actions = await db.scalars(
            select(AgentAction).where(AgentAction.agent_id == agent.id).order_by(AgentAction.created_at)
        )
        out.append(
            {
                "id": agent.id,
                "character": character.export(agent, account),
                "daily_budget": agent.daily_budget,
                "visibility": agent.visibility,
                "actions": [
                    {
                        "key": a.key,
                        "kind": a.kind,
                        "status": a.status,
                        "reason": a.reason,
                        "credits": a.credits,
                        "created_at": a.created_at,
                    }
                    for a in actions
                ],
            }
        )
    return {"agents": out}


async def erase(db: AsyncSession, user: User) -> list[str]:
    await db.execute(delete(Agent).where(Agent.id == user.id))
    owned = list(await db.scalars(select(Agent.id).where(Agent.owner_id == user.id)))
    await db.execute(delete(Agent).where(Agent.owner_id == user.id))
    for agent_id in owned:
        await gdpr.erase_account(db, agent_id)
    return []


gdpr.register("agents", export=export, erase=erase)
