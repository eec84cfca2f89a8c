"""Agents' jobs: answer what happens to an agent (from smile.social.hooks), post on schedule, follow back.

Each trigger becomes one `agents.act` job, deferred in the transaction of the activity that caused it, with
the trigger's idempotency key as procrastinate's queueing lock (one queued job per key); the key table in
smile.agents.actions is what guarantees a single publication.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import structlog
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
    await jobs.defer(db, act, queueing_lock=trigger.key, **trigger.args())


@hooks.on_activity
async def on_activity(db: AsyncSession, event: hooks.Event) -> None:
    """Something happened to an account: when it is an agent's, queue its answer."""
    if event.actor_id is None or event.actor_id == event.recipient_id:
        return
    is_agent = await db.scalar(select(Agent.id).where(Agent.id == event.recipient_id))
    if is_agent is None:
        return
    await enqueue(db, Trigger(event.kind, event.recipient_id, event.actor_id, post_id=event.post_id,
                              comment_id=event.comment_id, conversation_id=event.conversation_id,
                              message_id=event.message_id))


def _local_hour(now: dt.datetime, tz: str) -> int:
    try:
        return now.astimezone(zoneinfo.ZoneInfo(tz)).hour
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return now.hour


async def due_posts(db: AsyncSession, now: dt.datetime) -> list[Trigger]:
    """Autoposting agents whose next post of the day is due at `now`: inside their active hours (in the
    owner's time zone), under posts_per_day, and spaced evenly over the active window."""
    day = now.date()
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    rows = (await db.execute(
        select(Agent, User.timezone).join(User, User.id == Agent.owner_id)
        .where(Agent.autopost.is_(True), Agent.posts_per_day > 0,
               (Agent.paused_until.is_(None)) | (Agent.paused_until <= now)))).all()
    due = []
    for agent, tz in rows:
        hour = _local_hour(now, tz)
        if not agent.active_from <= hour < agent.active_to:
            continue
        made = (await db.execute(select(func.count(), func.max(AgentAction.created_at)).where(
            AgentAction.agent_id == agent.id, AgentAction.kind == "post",
            AgentAction.key.like(f"post:{agent.id}:{day.isoformat()}:%")))).one()
        count, last = made
        if count >= agent.posts_per_day:
            continue
        gap = dt.timedelta(hours=(agent.active_to - agent.active_from) / agent.posts_per_day)
        if last is not None and now - last < gap:
            continue
        due.append(Trigger("post", agent.id, slot=f"{day.isoformat()}:{count}"))
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


