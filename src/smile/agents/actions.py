"""How an agent acts: one job per trigger, keyed by an idempotency key; guards, budget and metering in code.

    run(Trigger("message", agent_id, actor_id, conversation_id=..., message_id=...))

1. One transaction decides: the key not yet used; the agent active and not paused; the behaviour on; the
   loop guards (never itself, agent-to-agent depth, per-pair cooldown, hourly cap); then it reserves the
   call's worst-case cost from the agent's daily budget (a conditional UPDATE that cannot overspend). A
   refusal is recorded under the key (so a retry does not reconsider it); running out pauses the agent and
   notifies its owner once.
2. One model call (smile.ai.service.complete) from the OWNER's wallet, with no transaction held.
3. One transaction publishes: the action row is inserted under its key (ON CONFLICT DO NOTHING) in the same
   transaction as the post, comment or message, so a retried or concurrent job can never publish twice;
   the budget reservation settles to the call's actual cost.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace

import structlog
from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.agents import context as agent_context
from smile.agents import guards, offline, prompt
from smile.agents import service as agents
from smile.agents.memory.context import fit_context
from smile.agents.models import Agent, AgentAction, AgentSpend
from smile.ai import catalog, metering
from smile.ai import service as ai
from smile.ai.providers import registry
from smile.ai.types import ChatRequest
from smile.billing.ledger.service import InsufficientFunds
from smile.config import Settings
from smile.identity.models import User
from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.errors import AppError, NotFound, TooManyRequests
from smile.kit.ids import new_id
from smile.kit.pagination import encode_cursor
from smile.social.graph import service as graph
from smile.social.messages import service as messages
from smile.social.messages.schemas import MessageCreate
from smile.social.notifications import service as notifications
from smile.social.posts import comments
from smile.social.posts import service as posts
from smile.social.posts.schemas import PostIn

log = structlog.get_logger("smile.agents")
REPLY_KINDS = ("message", "comment", "mention")
RECENT_POSTS = 50  # the duplicate guard compares a new post with this many recent ones


@dataclass(frozen=True)
class Trigger:
    kind: str  # message|comment|mention|post|follow
    agent_id: uuid.UUID
    actor_id: uuid.UUID | None = None
    post_id: uuid.UUID | None = None
    comment_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    message_id: uuid.UUID | None = None
    slot: str | None = None  # for posts: "<day>:<n>"

    @property
    def key(self) -> str:
        if self.kind == "message":
            return f"reply:{self.agent_id}:{self.message_id}"
        if self.kind in ("comment", "mention"):
            return f"reply:{self.agent_id}:{self.comment_id or self.post_id}"
        if self.kind == "follow":
            return f"follow:{self.agent_id}:{self.actor_id}"
        return f"post:{self.agent_id}:{self.slot}"

    @property
    def content_id(self) -> uuid.UUID | None:
        return self.message_id or self.comment_id or self.post_id

    def args(self) -> dict:
        return {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def of(cls, args: dict) -> Trigger:
        ids = ("agent_id", "actor_id", "post_id", "comment_id", "conversation_id", "message_id")
        return cls(**{k: (uuid.UUID(v) if k in ids and v else v) for k, v in args.items()})


@dataclass
class Plan:
    """What phase 1 decided for phase 2 and 3."""

    agent: Agent
    user: User
    owner: User
    partner: User | None
    depth: int
    request: ChatRequest
    reserved: int
    day: dt.date
    question: str
    context: agent_context.Context
    topic: str = ""
    slot_index: int = 0


class Skip(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _settings(settings: Settings | None) -> Settings:
    return settings or runtime.current().settings


async def run(trigger: Trigger, *, db_factory=None, settings: Settings | None = None) -> str:
    """Act on one trigger; returns "done", "duplicate" or the reason it was skipped."""
    db_factory = db_factory or runtime.current().db.session
    settings = _settings(settings)
    async with db_factory() as db:
        if await db.get(AgentAction, trigger.key) is not None:
            return "duplicate"
        if trigger.kind == "follow":
            return await _follow_back(db, trigger)
        try:
            plan = await _decide(db, trigger, settings)
        except Skip as skip:
            await _record(db, trigger, "skipped", skip.reason)
            return skip.reason
    request_id = new_id()
    try:
        result = await ai.complete(db_factory, plan.owner.id, plan.request, settings=settings, request_id=request_id)
    except InsufficientFunds:
        async with db_factory() as db:
            await _settle(db, plan, 0)
            await _pause(db, plan.agent.id, plan.owner.id, "wallet", utcnow() + dt.timedelta(minutes=15))
            await _record(db, trigger, "skipped", "wallet")
        return "wallet"
    except AppError as exc:
        async with db_factory() as db:
            await _settle(db, plan, 0)
            if exc.status < 500 and exc.status != 429:
                await _record(db, trigger, "skipped", f"model:{exc.code}"[:60])
                return f"model:{exc.code}"
        raise  # upstream trouble: the job retries with backoff
    text_out = _finish(trigger, plan, result.text, result.offline)
    try:
        async with db_factory() as db:
            await _settle(db, plan, result.credits)
            return await _publish(db, trigger, plan, text_out, result, request_id)
    except TooManyRequests:  # the social network's rate limit: settle now, publish on the job's retry
        async with db_factory() as db:
            await _settle(db, plan, result.credits)
        raise


# --- phase 1: decide -------------------------------------------------------------------------------------


async def _decide(db: AsyncSession, trigger: Trigger, settings: Settings) -> Plan:
    found = await agents.load(db, trigger.agent_id)
    if found is None:
        raise Skip("gone")
    agent, user = found
    owner = await db.get(User, agent.owner_id)
    now = utcnow()
    if agent.paused_until is not None and agent.paused_until > now:
        raise Skip("paused")
    partner, history, question, topic, slot_index, recent = None, [], "", "", 0, []
    if trigger.kind in REPLY_KINDS:
        partner = await db.get(User, trigger.actor_id) if trigger.actor_id else None
        if partner is None or partner.id == agent.id:
            raise Skip("self")
        history = await _thread(db, trigger, user)
        if not history or history[-1].author.id == agent.id:
            raise Skip("nothing_to_answer")
        question = history[-1].text
        await _allowed(db, trigger, agent, partner, question)
    else:
        if not agent.autopost:
            raise Skip("disabled")
        topics = agent.post_topics or agent.topics or ["what I care about"]
        slot_index = int((trigger.slot or "0").rsplit(":", 1)[-1] or 0)
        topic = topics[slot_index % len(topics)]
        question = topic
        recent = await _recent_posts(db, agent.id, 5)
    depth = await _depth(db, trigger, partner)
    if depth >= settings.agent_max_depth:
        raise Skip("depth")
    await _loop_guards(db, agent, partner, settings, now)
    context = await agent_context.gather(db, agent.id, partner.id if partner and not partner.is_ai else None, question)
    if trigger.kind in REPLY_KINDS:
        messages_ = prompt.reply(agent, user, owner, context, history, trigger.kind)
    else:
        messages_ = prompt.post(agent, user, owner, context, topic, recent)
    request = ChatRequest(
        agent.model,
        messages_,
        max_tokens=settings.agent_reply_max_tokens,
        temperature=agent.temperature,
        knowledge=[c.text for c in context.knowledge] or None,
    )
    request, reserved = await _worst_case(db, request, settings)
    day = now.date()
    if not await _reserve(db, agent, day, reserved):
        await _pause(
            db, agent.id, owner.id, "budget", dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
        )
        raise Skip("budget")
    return Plan(agent, user, owner, partner, depth, request, reserved, day, question, context, topic, slot_index)


async def _thread(db: AsyncSession, trigger: Trigger, me: User) -> list[prompt.Said]:
    """The conversation up to the trigger, as the agent may see it (oldest first)."""
    try:
        if trigger.kind == "message":
            last = await messages.get_message(db, me.id, trigger.conversation_id, trigger.message_id)
            page = await messages.list_messages(db, me.id, trigger.conversation_id, encode_cursor(last.id), 9)
            items = [m for m in [*reversed(page.items), last] if m.body]
            authors = {
                u.id: u
                for u in await db.scalars(select(User).where(User.id.in_({m.sender.id for m in items if m.sender})))
            }
            return [prompt.Said(authors[m.sender.id], m.body) for m in items if m.sender and m.sender.id in authors]
        post = await posts.get_visible_post(db, me.id, trigger.post_id)
        said = [prompt.Said(await db.get(User, post.author_id), post.body)] if post.body else []
        if trigger.comment_id:
            comment = await comments.get_visible(db, me.id, trigger.comment_id)
            for c in await comments.ancestors(db, me.id, comment):
                said.append(prompt.Said(await db.get(User, c.author_id), c.body))
        return said
    except NotFound:
        return []


async def _allowed(db: AsyncSession, trigger: Trigger, agent: Agent, partner: User, text_in: str) -> None:
    if trigger.kind == "message":
        if not agent.reply_to_messages:
            raise Skip("disabled")
        owner_only = agent.visibility == "private" or agent.who_can_message == "owner"
        if owner_only and partner.id != agent.owner_id:
            raise Skip("not_allowed")
        return
    if trigger.kind == "mention" and not agent.reply_to_mentions:
        raise Skip("disabled")
    if trigger.kind == "comment" and not agent.reply_to_comments:
        raise Skip("disabled")
    if agent.visibility == "private" and partner.id != agent.owner_id:
        raise Skip("not_allowed")
    if not guards.worth_answering(text_in, mentioned=trigger.kind == "mention"):
        raise Skip("not_addressed")


async def _depth(db: AsyncSession, trigger: Trigger, partner: User | None) -> int:
    """0 when a person started it; else one more than the agent action that wrote the trigger."""
    if partner is None or not partner.is_ai or trigger.content_id is None:
        return 0
    before = await db.scalar(select(AgentAction.depth).where(AgentAction.content_id == trigger.content_id))
    if before is None and trigger.comment_id and trigger.post_id:  # a mention of the post's own text
        before = await db.scalar(select(AgentAction.depth).where(AgentAction.content_id == trigger.post_id))
    return (before if before is not None else 0) + 1


async def _loop_guards(
    db: AsyncSession, agent: Agent, partner: User | None, settings: Settings, now: dt.datetime
) -> None:
    done = and_(AgentAction.agent_id == agent.id, AgentAction.status == "done")
    if partner is not None and partner.is_ai and settings.agent_pair_cooldown_seconds:
        since = now - dt.timedelta(seconds=settings.agent_pair_cooldown_seconds)
        if await db.scalar(
            select(func.count()).where(done, AgentAction.partner_id == partner.id, AgentAction.created_at > since)
        ):
            raise Skip("cooldown")
    hourly = await db.scalar(select(func.count()).where(done, AgentAction.created_at > now - dt.timedelta(hours=1)))
    if hourly >= settings.agent_hourly_actions:
        raise Skip("hourly_cap")


async def _worst_case(db: AsyncSession, request: ChatRequest, settings: Settings) -> tuple[ChatRequest, int]:
    """The request (on the offline model when the agent's is gone) and the most it can cost."""
    try:
        chain = await catalog.chain(db, request.model, set(registry(settings)), settings)
    except AppError:
        request = replace(request, model="offline")
        chain = await catalog.chain(db, "offline", set(registry(settings)), settings)
    window = min(m.context_window for m in chain)
    max_tokens = min(request.max_tokens or 1, max(1, window // 4))
    fitted = fit_context(request.messages, model_context_tokens=window, reserve=max_tokens)  # never overflows
    request = replace(request, messages=fitted.messages, max_tokens=max_tokens)
    return request, metering.worst_case(chain, fitted.tokens, max_tokens)


async def _reserve(db: AsyncSession, agent: Agent, day: dt.date, amount: int) -> bool:
    """Hold `amount` of today's budget; False when it would exceed it (cannot overspend under concurrency)."""
    await db.execute(
        insert(AgentSpend)
        .values(agent_id=agent.id, day=day, reserved=0, spent=0, calls=0)
        .on_conflict_do_nothing(index_elements=["agent_id", "day"])
    )
    row = await db.execute(
        update(AgentSpend)
        .where(
            AgentSpend.agent_id == agent.id,
            AgentSpend.day == day,
            AgentSpend.spent + AgentSpend.reserved + amount <= agent.daily_budget,
        )
        .values(reserved=AgentSpend.reserved + amount, calls=AgentSpend.calls + 1)
        .returning(AgentSpend.agent_id)
    )
    return row.first() is not None


async def _settle(db: AsyncSession, plan: Plan, credits: int) -> None:
    await db.execute(
        update(AgentSpend)
        .where(AgentSpend.agent_id == plan.agent.id, AgentSpend.day == plan.day)
        .values(reserved=func.greatest(AgentSpend.reserved - plan.reserved, 0), spent=AgentSpend.spent + credits)
    )


async def _pause(db: AsyncSession, agent_id: uuid.UUID, owner_id: uuid.UUID, reason: str, until: dt.datetime) -> None:
    """Pause the agent; only the transaction that paused it notifies the owner (once per pause)."""
    now = utcnow()
    paused = await db.execute(
        update(Agent)
        .where(Agent.id == agent_id, (Agent.paused_until.is_(None)) | (Agent.paused_until <= now))
        .values(paused_until=until, paused_reason=reason)
        .returning(Agent.id)
    )
    if paused.first() is not None:
        await notifications.notify(db, user_id=owner_id, kind="agent_paused", actor_id=agent_id)
        log.info("agent_paused", agent=str(agent_id), reason=reason)


async def _recent_posts(db: AsyncSession, agent_id: uuid.UUID, limit: int) -> list[str]:
    rows = await db.scalars(
        select(AgentAction.text_norm)
        .where(AgentAction.agent_id == agent_id, AgentAction.kind == "post", AgentAction.status == "done")
        .order_by(AgentAction.created_at.desc())
        .limit(limit)
    )
    return [r for r in rows if r]


# --- phase 2/3: check the output, publish ------------------------------------------------------------------


def _finish(trigger: Trigger, plan: Plan, raw: str, is_offline: bool) -> str:
    if is_offline:  # the offline provider echoes its input: the agent's own templates answer instead
        if trigger.kind in REPLY_KINDS:
            return offline.reply(plan.agent, plan.user, plan.partner, plan.question, plan.context)
        return offline.post(plan.agent, plan.user, plan.context, plan.topic, plan.slot_index)
    return guards.clean(raw, plan.user.display_name)


def _verdict(text_out: str) -> str | None:
    if not text_out.strip():
        return "guard:empty"
    if guards.claims_human(text_out):
        return "guard:human_claim"
    if guards.leaks(text_out, prompt.RULES):
        return "guard:leak"
    return None


async def _record(db: AsyncSession, trigger: Trigger, status: str, reason: str | None, **values) -> bool:
    """Insert the action under its key; False when the key was already used."""
    row = await db.execute(
        insert(AgentAction)
        .values(
            key=trigger.key,
            agent_id=trigger.agent_id,
            kind=trigger.kind,
            status=status,
            reason=reason,
            partner_id=trigger.actor_id,
            partner_is_ai=values.pop("partner_is_ai", False),
            depth=values.pop("depth", 0),
            credits=values.pop("credits", 0),
            created_at=utcnow(),
            **values,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(AgentAction.key)
    )
    return row.first() is not None


async def _publish(db: AsyncSession, trigger: Trigger, plan: Plan, text_out: str, result, request_id) -> str:
    common = {
        "partner_is_ai": bool(plan.partner and plan.partner.is_ai),
        "depth": plan.depth,
        "credits": result.credits,
        "model": result.model,
        "request_id": request_id,
    }
    reason = _verdict(text_out)
    norm = guards.normalize(text_out)
    if reason is None and trigger.kind == "post" and norm in await _recent_posts(db, plan.agent.id, RECENT_POSTS):
        reason = "duplicate_text"
    if reason is not None:
        await _record(db, trigger, "skipped", reason, **common)
        log.info("agent_output_blocked", agent=str(plan.agent.id), reason=reason)
        return reason
    if not await _record(db, trigger, "done", None, text_norm=norm if trigger.kind == "post" else None, **common):
        return "duplicate"  # another run of this trigger published first, in its own transaction
    user = await db.get(User, plan.agent.id)
    generated_by = {
        "agent": user.username,
        "model": result.model,
        "version": plan.agent.version,
        "offline": bool(result.offline),
    }
    try:
        async with db.begin_nested():
            content_id = await _send(db, trigger, user, text_out, generated_by)
    except TooManyRequests:
        raise  # the whole transaction rolls back (the key too): the job retries later
    except AppError as exc:  # e.g. the person blocked the agent since: nothing to publish
        await db.execute(
            update(AgentAction)
            .where(AgentAction.key == trigger.key)
            .values(status="skipped", reason=f"refused:{exc.code}"[:60])
        )
        return f"refused:{exc.code}"
    await db.execute(update(AgentAction).where(AgentAction.key == trigger.key).values(content_id=content_id))
    if trigger.kind == "message" and plan.partner is not None and not plan.partner.is_ai:
        await agent_context.remember(db, plan.agent.id, plan.partner.id, plan.question, text_out)
    log.info("agent_acted", agent=str(plan.agent.id), kind=trigger.kind, credits=result.credits)
    return "done"


async def _send(db: AsyncSession, trigger: Trigger, user: User, body: str, generated_by: dict) -> uuid.UUID:
    if trigger.kind == "message":
        out = await messages.send(
            db, user, trigger.conversation_id, MessageCreate(body=body), generated_by=generated_by
        )
        return out.id
    if trigger.kind in ("comment", "mention"):
        comment = await comments.create(db, user, trigger.post_id, body, trigger.comment_id, generated_by=generated_by)
        return comment.id
    post = await posts.create(db, user, PostIn(body=body), generated_by=generated_by)
    return post.id


async def _follow_back(db: AsyncSession, trigger: Trigger) -> str:
    found = await agents.load(db, trigger.agent_id)
    follower = await db.get(User, trigger.actor_id) if trigger.actor_id else None
    if found is None or follower is None:
        return "gone"
    agent, user = found
    if not agent.follow_back:
        await _record(db, trigger, "skipped", "disabled")
        return "disabled"
    if not await _record(db, trigger, "done", None, partner_is_ai=follower.is_ai):
        return "duplicate"
    try:
        async with db.begin_nested():
            await graph.follow(db, user, follower.username)
    except AppError as exc:
        await db.execute(
            update(AgentAction)
            .where(AgentAction.key == trigger.key)
            .values(status="skipped", reason=f"refused:{exc.code}"[:60])
        )
        return f"refused:{exc.code}"
    return "done"


async def spent(db: AsyncSession, agent_id: uuid.UUID, day: dt.date) -> tuple[int, int]:
    """(spent, reserved) credits of the agent on `day`."""
    row = (
        await db.execute(
            select(AgentSpend.spent, AgentSpend.reserved).where(AgentSpend.agent_id == agent_id, AgentSpend.day == day)
        )
    ).first()
    return (row[0], row[1]) if row else (0, 0)
