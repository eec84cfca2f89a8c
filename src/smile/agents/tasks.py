"""Agents' jobs: answer what happens to an agent (from smile.social.hooks), post on schedule, follow back.

Each trigger becomes one `agents.act` job, deferred in the transaction of the activity that caused it, with
the trigger's idempotency key as procrastinate's queueing lock (one queued job per key); the key table in
smile.agents.actions is what guarantees a single publication.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import structlog
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.agents import actions
from smile.agents.actions import Trigger
from smile.agents.models import Agent, AgentAction
from smile.identity.models import User
from smile.kit import jobs, runtime
from smile.social import hooks

log = structlog.get_logger("smile.agents")


@jobs.job_app.task(name="agents.act", retry=jobs.RETRY, queue="agents")
async def act(**trigger: str) -> str:
    return await actions.run(Trigger.of(trigger))


async def enqueue(db: AsyncSession, trigger: Trigger) -> None:
    """Queue the trigger's job in the caller's transaction (in a savepoint: a job already queued under the same
    key is left alone without failing the caller's transaction)."""
    try:
        async with db.begin_nested():
            await jobs.defer(db, act, queueing_lock=trigger.key, **trigger.args())
    except AlreadyEnqueued:
        pass


@hooks.on_activity
async def on_activity(db: AsyncSession, event: hooks.Event) -> None:
    """Something happened to an account: when it is an agent's, queue its answer."""
    if event.actor_id is None or event.actor_id == event.recipient_id:
        return
    is_agent = await db.scalar(select(Agent.id).where(Agent.id == event.recipient_id))
    if is_agent is None:
        return
    await enqueue(
        db,
        Trigger(
            event.kind,
            event.recipient_id,
            event.actor_id,
            post_id=event.post_id,
            comment_id=event.comment_id,
            conversation_id=event.conversation_id,
            message_id=event.message_id,
        ),
    )


def _local(now: dt.datetime, tz: str) -> dt.datetime:
    try:
        return now.astimezone(zoneinfo.ZoneInfo(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return now


async def due_posts(db: AsyncSession, now: dt.datetime) -> list[Trigger]:
    """Autoposting agents whose next post is due at `now`. In the owner's time zone, the day's posts_per_day
    slots are spread evenly over the active hours: slot n is due at active_from + n * (window / posts_per_day).
    A slot is keyed by the owner's local date and its number, so it is published at most once."""
    rows = (
        await db.execute(
            select(Agent, User.timezone)
            .join(User, User.id == Agent.owner_id)
            .where(
                Agent.autopost.is_(True),
                Agent.posts_per_day > 0,
                (Agent.paused_until.is_(None)) | (Agent.paused_until <= now),
            )
        )
    ).all()
    due = []
    for agent, tz in rows:
        local = _local(now, tz)
        if not agent.active_from <= local.hour < agent.active_to:
            continue
        day = local.date().isoformat()
        count = await db.scalar(
            select(func.count()).where(
                AgentAction.agent_id == agent.id, AgentAction.key.like(f"post:{agent.id}:{day}:%")
            )
        )
        if count >= agent.posts_per_day:
            continue
        gap = dt.timedelta(hours=(agent.active_to - agent.active_from) / agent.posts_per_day)
        if local < local.replace(hour=agent.active_from, minute=0, second=0, microsecond=0) + count * gap:
            continue
        due.append(Trigger("post", agent.id, slot=f"{day}:{count}"))
    return due


async def schedule_posts(db: AsyncSession, now: dt.datetime) -> int:
    triggers = await due_posts(db, now)
    for trigger in triggers:
        await enqueue(db, trigger)
    return len(triggers)


@jobs.job_app.periodic(cron="*/5 * * * *")
@jobs.job_app.task(name="agents.schedule_posts", retry=jobs.RETRY)
async def scheduled(timestamp: int) -> int:
    async with runtime.current().db.session() as db:
        count = await schedule_posts(db, dt.datetime.fromtimestamp(timestamp, dt.UTC))
    if count:
        log.info("agent_posts_scheduled", count=count)
    return count
