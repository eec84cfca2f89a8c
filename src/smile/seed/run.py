"""`smile seed` and `smile serve --seed-demo`: the demo community, idempotent, with a progress bar.

People are created first (seed.accounts); then each step runs through the domain services with the
process runtime started here. The seed's runtime has rate limits off (forty people posting in one
second would trip them) and skips the local moderation classifier (the demo texts are ours; the
moderation rules still run). Every step checks whether it already ran, so a second run changes nothing.
Logs below warnings are quiet while it runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import create_engine, func, pool, select
from sqlalchemy.orm import Session

from smile.config import Settings, get_settings
from smile.identity.models import User
from smile.kit import realtime, runtime
from smile.kit.db import sqlalchemy_url
from smile.kit.observability import configure_logging
from smile.seed import community, money, texts
from smile.seed.accounts import seed_people
from smile.seed.community import Demo, Step


def _bar(progress: Progress, label: str, total: int) -> Step:
    task = progress.add_task(label, total=total)

    def step(n: int = 1, *, total: int | None = None) -> None:
        if total is not None:
            progress.update(task, total=total)
        progress.advance(task, n)

    step.finish = lambda: progress.update(task, completed=progress.tasks[task].total)  # type: ignore[attr-defined]
    return step


async def _content(demo: Demo, progress: Progress) -> None:
    def social(fn: Callable[..., Awaitable[None]]) -> Callable[[Step], Awaitable[None]]:
        return lambda step: fn(runtime.current().db.session, demo, step)

    people = len(demo.people)
    steps: list[tuple[str, int, Callable[[Step], Awaitable[None]]]] = [
        ("Avatars", people + 1, social(community.avatars)),
        ("Follows", people, social(community.follow_each_other)),
        ("Posts, pictures and polls", len(community.post_plan(demo)), social(community.write_posts)),
        ("Comments", 1, social(community.write_comments)),
        ("Reactions", people, social(community.react)),
        ("Poll votes", 1, social(community.vote)),
        ("Conversations", 7, social(community.converse)),
        ("Credit purchases", people, lambda step: money.buy_credits(demo, step)),
        ("Subscription", 1, lambda step: money.subscribe(demo, step)),
        ("Sales", 2, lambda step: money.sell(demo, step)),
        ("API key and gateway calls", len(texts.GATEWAY_PROMPTS), lambda step: money.use_api(demo, step)),
    ]
    if "agents" in runtime.current().settings.module_list:
        steps.append(("AI agents, posting and chatting", 1, lambda step: _agents(demo)))
    for label, total, run in steps:
        step = _bar(progress, label, total)
        await run(step)
        step.finish()  # type: ignore[attr-defined]


async def _agents(demo: Demo) -> None:
    """Eight agents of a few demo people, with knowledge, that have posted and answered; the newcomer chats
    with them (the last owner is the one who talks to the agents)."""
    from smile.agents.demo import seed_agents

    names = [p for p in demo.people[2:6] if p != community.NEWCOMER] + [community.NEWCOMER]
    async with runtime.current().db.session() as db:
        ids = {u.username: u.id for u in await db.scalars(select(User).where(User.username.in_(names)))}
    await seed_agents(runtime.current().db.session, [ids[n] for n in names if n in ids])


async def _seed(url: str, settings: Settings, people: list[str], console: Console) -> None:
    settings = settings.model_copy(
        update={"rate_limit_enabled": False, "moderation_classifier": False, "log_level": "WARNING"}
    )
    configure_logging(settings.json_logs, settings.log_level)  # the progress bar, not a log line per payment
    rt = runtime.start(settings, url, pool_size=2)
    try:
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            await _content(community.plan(people), progress)
    finally:
        await realtime.close()
        await rt.db.dispose()


def seed_demo(url: str, users: int = 40, settings: Settings | None = None, console: Console | None = None) -> int:
    """Create the demo community (idempotent); returns how many accounts were created."""
    console = console or Console(stderr=True)
    with console.status("Demo people"):
        created = seed_people(url, users)
    asyncio.run(_seed(url, settings or get_settings(), [f"demo{i:03d}" for i in range(users)], console))
    return created


def seed_if_empty(url: str, settings: Settings | None = None) -> None:
    """Seed an empty database; on a demo database (demoadmin exists) finish whatever is missing."""
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with Session(engine) as session:
            users = session.scalar(select(func.count()).select_from(User))
            demo = session.scalar(select(User.id).where(User.username == "demoadmin"))
    finally:
        engine.dispose()
    if users == 0 or demo is not None:
        seed_demo(url, settings=settings)
