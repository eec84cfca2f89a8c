"""Agents: create (from a template or from scratch), read, list, update and delete; owner-only.

An agent is a user account (account_type 'ai_agent', owner_id = its creator) plus a row in `agents` keyed by
that account's id. Identity creates and updates the account; this module keeps the persona and behaviour.
A caller who does not own the agent gets 404, whatever the agent's visibility.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.agents import templates
from smile.agents.models import Agent, AgentAction, AgentSpend
from smile.agents.schemas import AgentCreate, AgentOut, AgentPage, AgentUpdate, Persona, TemplateOut
from smile.ai import catalog
from smile.identity.accounts import service as accounts
from smile.identity.models import User
from smile.identity.profile import gdpr
from smile.identity.profile import service as profiles
from smile.identity.profile.schemas import ProfileUpdate
from smile.kit.db import utcnow
from smile.kit.errors import Invalid, NotFound
from smile.kit.pagination import keyset, page_of

ACCOUNT_FIELDS = ("display_name", "bio", "language")
NOT_FOUND = "There is no agent with this id among yours."


def list_templates() -> list[TemplateOut]:
    return [
        TemplateOut(
            id=key,
            label=t["label"],
            description=t["description"],
            persona=t["persona"],
            style=t["style"],
            topics=t["topics"],
            greeting=t["greeting"],
        )
        for key, t in templates.TEMPLATES.items()
    ]


async def _check_model(db: AsyncSession, alias: str | None) -> None:
    if alias is None or alias == "offline":
        return
    known = {m.id for m in await catalog.all_models(db, enabled_only=True)}
    if alias not in known:
        raise Invalid(
            f"No model {alias!r} in the catalog; GET /api/v1/ai/models lists them.", fields={"model": "unknown model"}
        )


def _agent_fields(data: Persona) -> dict:
    changes = data.model_dump(exclude_unset=True, exclude_none=True, exclude={"handle", "template", *ACCOUNT_FIELDS})
    if "example_dialogues" in changes:
        changes["example_dialogues"] = [[dict(t) for t in d] for d in changes["example_dialogues"]]
    return changes


def _account_changes(data: Persona) -> ProfileUpdate:
    fields = data.model_dump(exclude_unset=True, exclude_none=True, include=set(ACCOUNT_FIELDS))
    if data.who_can_message in ("everyone", "followers"):
        fields["who_can_message"] = data.who_can_message
    return ProfileUpdate(**fields)


async def create(db: AsyncSession, owner: User, data: AgentCreate) -> tuple[Agent, User]:
    """A new agent for `owner`: the template's fields, overridden by what the request sets."""
    await _check_model(db, data.model)
    base = templates.defaults(data.template)
    user = await accounts.create_agent_account(
        db,
        owner,
        data.handle,
        data.display_name or data.handle,
        bio=data.bio or "",
        language=data.language or owner.language or "en",
    )
    agent = Agent(
        id=user.id, owner_id=owner.id, template=data.template, **{k: v for k, v in base.items() if hasattr(Agent, k)}
    )
    for name, value in _agent_fields(data).items():
        setattr(agent, name, value)
    if agent.model is None:
        agent.model = "offline"
    db.add(agent)
    await db.flush()
    await profiles.update_profile(db, user, _account_changes(data))
    agent.language = user.language
    return agent, user


async def own(db: AsyncSession, owner_id: uuid.UUID, agent_id: uuid.UUID, *, lock: bool = False) -> tuple[Agent, User]:
    """The agent and its account, when `owner_id` runs it (404 otherwise)."""
    stmt = (
        select(Agent, User)
        .join(User, User.id == Agent.id)
        .where(Agent.id == agent_id, Agent.owner_id == owner_id, User.status == "active")
    )
    row = (await db.execute(stmt.with_for_update(of=Agent) if lock else stmt)).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return row[0], row[1]


async def load(db: AsyncSession, agent_id: uuid.UUID) -> tuple[Agent, User] | None:
    """The agent and its account (active), for the agent's own jobs."""
    row = (
        await db.execute(
            select(Agent, User).join(User, User.id == Agent.id).where(Agent.id == agent_id, User.status == "active")
        )
    ).first()
    return (row[0], row[1]) if row else None


async def update(db: AsyncSession, owner: User, agent_id: uuid.UUID, data: AgentUpdate) -> tuple[Agent, User]:
    agent, user = await own(db, owner.id, agent_id, lock=True)
    await _check_model(db, data.model)
    changes = _agent_fields(data)
    start = changes.get("active_from", agent.active_from)
    end = changes.get("active_to", agent.active_to)
    if start >= end:
        raise Invalid("active_from must be before active_to.", fields={"active_from": "after active_to"})
    persona_changed = False
    for name, value in changes.items():
        if getattr(agent, name) != value:
            setattr(agent, name, value)
            persona_changed = persona_changed or name not in ("daily_budget", "visibility")
    if "daily_budget" in changes and agent.paused_reason == "budget":
        agent.paused_until = agent.paused_reason = None  # a new budget resumes the agent
    if persona_changed:
        agent.version += 1
    agent.updated_at = utcnow()
    await profiles.update_profile(db, user, _account_changes(data))
    agent.language = user.language
    await db.flush()
    return agent, user


async def resume(db: AsyncSession, owner: User, agent_id: uuid.UUID) -> tuple[Agent, User]:
    agent, user = await own(db, owner.id, agent_id, lock=True)
    agent.paused_until = agent.paused_reason = None
    await db.flush()
    return agent, user


async def delete(db: AsyncSession, owner: User, agent_id: uuid.UUID) -> None:
    """Delete the agent: its account is erased like a person's (its posts and messages go)."""
    agent, _ = await own(db, owner.id, agent_id)
    await db.delete(agent)
    await db.flush()
    await gdpr.erase_account(db, agent_id)


async def list_mine(db: AsyncSession, owner: User, cursor: str | None, limit: int) -> AgentPage:
    stmt = (
        select(Agent, User).join(User, User.id == Agent.id).where(Agent.owner_id == owner.id, User.status == "active")
    )
    rows = list((await db.execute(keyset(stmt, Agent.id, cursor, limit))).all())
    rows, next_cursor = page_of(rows, limit, id_of=lambda row: row[0].id)
    return AgentPage(items=[await out(db, a, u, owner) for a, u in rows], next_cursor=next_cursor)


async def spent_today(db: AsyncSession, agent_id: uuid.UUID) -> int:
    return (
        await db.scalar(
            select(func.coalesce(func.sum(AgentSpend.spent), 0)).where(
                AgentSpend.agent_id == agent_id, AgentSpend.day == utcnow().date()
            )
        )
        or 0
    )


async def out(db: AsyncSession, agent: Agent, user: User, owner: User) -> AgentOut:
    return AgentOut(
        id=agent.id,
        handle=user.username,
        display_name=user.display_name,
        bio=user.bio,
        avatar_url=f"/media/{user.avatar_key}" if user.avatar_key else None,
        owner=owner.username,
        template=agent.template,
        persona=agent.persona,
        style=agent.style,
        topics=agent.topics,
        adjectives=agent.adjectives,
        lore=agent.lore,
        avoid=agent.avoid,
        example_posts=agent.example_posts,
        example_dialogues=agent.example_dialogues,
        greeting=agent.greeting,
        language=user.language,
        model=agent.model,
        temperature=agent.temperature,
        visibility=agent.visibility,
        reply_to_messages=agent.reply_to_messages,
        who_can_message=agent.who_can_message,
        reply_to_mentions=agent.reply_to_mentions,
        reply_to_comments=agent.reply_to_comments,
        autopost=agent.autopost,
        posts_per_day=agent.posts_per_day,
        active_from=agent.active_from,
        active_to=agent.active_to,
        post_topics=agent.post_topics,
        follow_back=agent.follow_back,
        daily_budget=agent.daily_budget,
        spent_today=await spent_today(db, agent.id),
        version=agent.version,
        paused_until=agent.paused_until,
        paused_reason=agent.paused_reason,
        created_at=agent.created_at,
        updated_at=agent.updated_at,
        url=f"/u/{user.username}",
    )


async def owner_of(db: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The owner of an AI agent account (None for a person's account)."""
    return await db.scalar(select(User).join(Agent, Agent.owner_id == User.id).where(Agent.id == user_id))


async def recent_actions(db: AsyncSession, owner_id: uuid.UUID, agent_id: uuid.UUID, limit: int) -> list[AgentAction]:
    await own(db, owner_id, agent_id)
    return list(
        await db.scalars(
            select(AgentAction)
            .where(AgentAction.agent_id == agent_id)
            .order_by(AgentAction.created_at.desc())
            .limit(limit)
        )
    )


async def import_character(db: AsyncSession, owner: User, raw: object, handle: str | None) -> tuple[Agent, User]:
    """A new agent from a character file; its `knowledge` strings become one knowledge document."""
    from smile.agents import character
    from smile.agents.knowledge import service as knowledge

    agent, user = await create(db, owner, character.to_create(raw, handle))
    if texts := character.knowledge_texts(raw):  # to_create accepted the file, so raw is a dict
        await knowledge.add_document(
            db, owner.id, agent.id, title=f"{user.display_name}: character knowledge", text="\n\n".join(texts)
        )
    return agent, user
