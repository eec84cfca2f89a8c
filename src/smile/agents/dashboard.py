"""An agent's dashboard: what it published, what it drew, what it cost, per UTC day, from the tables as they are."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

from pydantic import BaseModel
from sqlalchemy import Date, cast, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.agents import service
from smile.agents.models import AgentAction, AgentSpend
from smile.ai.models import AiUsage
from smile.billing.credits.service import _cell as csv_cell
from smile.social.models import Comment, Follow, Message, Post, Reaction

MAX_DAYS = 365
RECENT_ERRORS = 20
SERIES = ("posts", "replies", "messages", "conversations", "followers", "reactions", "credits", "calls")


class Day(BaseModel):
    day: dt.date
    posts: int = 0  # posts it published
    replies: int = 0  # comments it wrote
    messages: int = 0  # direct messages it sent
    conversations: int = 0  # distinct conversations it wrote in that day
    followers: int = 0  # followers gained
    reactions: int = 0  # reactions others gave its posts
    credits: int = 0  # credits spent (agent_spend)
    calls: int = 0  # model calls


class KindSpend(BaseModel):
    kind: str
    actions: int
    skipped: int
    credits: int


class Problem(BaseModel):
    at: dt.datetime
    kind: str
    reason: str
    error: str | None = None  # the model call's error, when one failed


class Totals(BaseModel):
    posts: int
    replies: int
    messages: int
    conversations: int
    followers: int
    reactions: int
    credits: int
    calls: int
    cost_per_post: float | None  # credits of post actions / posts published by them
    followers_now: int


class Dashboard(BaseModel):
    agent_id: uuid.UUID
    handle: str
    days: int
    since: dt.date
    totals: Totals
    per_day: list[Day]
    per_kind: list[KindSpend]
    recent_errors: list[Problem]
    ratings: None = None  # reply ratings come with the training console (not built yet)


def _day(column):
    return cast(func.timezone("UTC", column), Date)


async def _per_day(db: AsyncSession, column, count, *where) -> dict[dt.date, int]:
    day = _day(column)
    rows = await db.execute(select(day, count).where(*where).group_by(day))
    return {d: int(n or 0) for d, n in rows}


async def build(db: AsyncSession, owner_id: uuid.UUID, agent_id: uuid.UUID, days: int = 30) -> Dashboard:
    """The dashboard of an agent `owner_id` runs (404 otherwise), over the last `days` UTC days, today included."""
    agent, user = await service.own(db, owner_id, agent_id)
    today = dt.datetime.now(dt.UTC).date()
    since = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(since, dt.time(), dt.UTC)
    aid = agent.id
    series = {
        "posts": await _per_day(
            db,
            Post.created_at,
            func.count(),
            Post.author_id == aid,
            Post.created_at >= start,
            Post.deleted_at.is_(None),
            Post.repost_of_id.is_(None),
        ),
        "replies": await _per_day(
            db, Comment.created_at, func.count(), Comment.author_id == aid, Comment.created_at >= start
        ),
        "messages": await _per_day(
            db, Message.created_at, func.count(), Message.sender_id == aid, Message.created_at >= start
        ),
        "conversations": await _per_day(
            db,
            Message.created_at,
            func.count(distinct(Message.conversation_id)),
            Message.sender_id == aid,
            Message.created_at >= start,
        ),
        "followers": await _per_day(
            db,
            Follow.created_at,
            func.count(),
            Follow.followee_id == aid,
            Follow.status == "accepted",
            Follow.created_at >= start,
        ),
        "reactions": await _per_day(
            db,
            Reaction.created_at,
            func.count(),
            Reaction.post_id.in_(select(Post.id).where(Post.author_id == aid)),
            Reaction.created_at >= start,
        ),
    }
    spend = await db.execute(
        select(AgentSpend.day, AgentSpend.spent, AgentSpend.calls).where(
            AgentSpend.agent_id == aid, AgentSpend.day >= since
        )
    )
    series["credits"], series["calls"] = {}, {}
    for d, spent, calls in spend:
        series["credits"][d], series["calls"][d] = int(spent), int(calls)
    per_day = [
        Day(day=d, **{name: series[name].get(d, 0) for name in SERIES})
        for d in (since + dt.timedelta(days=i) for i in range(days))
    ]

    kinds = await db.execute(
        select(
            AgentAction.kind,
            func.count().filter(AgentAction.status == "done"),
            func.count().filter(AgentAction.status != "done"),
            func.coalesce(func.sum(AgentAction.credits), 0),
        )
        .where(AgentAction.agent_id == aid, AgentAction.created_at >= start)
        .group_by(AgentAction.kind)
        .order_by(AgentAction.kind)
    )
    per_kind = [KindSpend(kind=k, actions=a, skipped=s, credits=int(c)) for k, a, s, c in kinds]
    post_kind = next((k for k in per_kind if k.kind == "post"), None)

    errors = await db.execute(
        select(AgentAction.created_at, AgentAction.kind, AgentAction.reason, AiUsage.error)
        .outerjoin(AiUsage, AiUsage.id == AgentAction.request_id)
        .where(AgentAction.agent_id == aid, AgentAction.status != "done")
        .order_by(AgentAction.created_at.desc())
        .limit(RECENT_ERRORS)
    )
    recent = [Problem(at=at, kind=k, reason=r or "unknown", error=e) for at, k, r, e in errors]

    followers_now = await db.scalar(
        select(func.count()).select_from(Follow).where(Follow.followee_id == aid, Follow.status == "accepted")
    )
    totals = {name: sum(getattr(d, name) for d in per_day) for name in SERIES if name != "conversations"}
    totals["conversations"] = int(
        await db.scalar(
            select(func.count(distinct(Message.conversation_id))).where(
                Message.sender_id == aid, Message.created_at >= start
            )
        )
        or 0
    )
    return Dashboard(
        agent_id=aid,
        handle=user.username,
        days=days,
        since=since,
        totals=Totals(
            **totals,
            cost_per_post=round(post_kind.credits / post_kind.actions, 2) if post_kind and post_kind.actions else None,
            followers_now=int(followers_now or 0),
        ),
        per_day=per_day,
        per_kind=per_kind,
        recent_errors=recent,
    )


def to_csv(board: Dashboard) -> str:
    """One row per day; cells a spreadsheet could run as a formula are prefixed with '."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["day", *SERIES])
    for d in board.per_day:
        writer.writerow([csv_cell(d.day.isoformat()), *(csv_cell(getattr(d, name)) for name in SERIES)])
    return buffer.getvalue()


def chart(board: Dashboard) -> dict:
    """The series the page's charts draw (static/js/charts.js)."""
    labels = [d.day.isoformat()[5:] for d in board.per_day]
    return {
        "labels": labels,
        **{name: [getattr(d, name) for d in board.per_day] for name in SERIES},
        "kinds": [k.kind for k in board.per_kind],
        "kind_credits": [k.credits for k in board.per_kind],
    }
