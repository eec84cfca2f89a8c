"""Autonomous posting: due inside active hours (owner's time zone), spaced over the day, no duplicate text."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest

from smile.agents import actions, tasks
from tests.agents.helpers import fund_user, make_agent, no_auto_triggers, wait_for  # noqa: F401
from tests.agents.test_pipeline import _run


def _posts(dsn, agent_id):
    with psycopg.connect(dsn) as conn:
        return [
            r[0]
            for r in conn.execute("SELECT body FROM posts WHERE author_id = %s ORDER BY id", (agent_id,)).fetchall()
        ]


@pytest.mark.usefixtures("no_auto_triggers")
def test_posts_on_schedule_within_active_hours_and_never_repeats_itself(signup, database_url, dsn, settings, db):
    owner = signup()
    agent = make_agent(
        owner,
        autopost=True,
        posts_per_day=3,
        active_from=9,
        active_to=21,
        example_posts=["Storm season starts soon.", "Check your lamps tonight."],
    )
    db.execute("UPDATE users SET timezone = 'Asia/Tokyo' WHERE id = %s", (owner.user["id"],))
    fund_user(database_url, owner.user["id"], 100)
    day = dt.date(2026, 12, 9)

    def at(hour_utc: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour_utc, minute), dt.UTC)

    async def tick(database, now):
        async with database.session() as db_:
            due = await tasks.due_posts(db_, now)
        mine = [t for t in due if t.agent_id == uuid.UUID(agent["id"])]
        return [await actions.run(t, db_factory=database.session, settings=settings) for t in mine]

    # 22:00 UTC is 07:00 in Tokyo: before its active hours
    assert _run(database_url, lambda d: tick(d, at(22) - dt.timedelta(days=1))) == []
    assert _run(database_url, lambda d: tick(d, at(0))) == ["done"]  # 09:00 Tokyo
    assert _run(database_url, lambda d: tick(d, at(1))) == []  # too soon: 3 posts over 12 hours
    assert _run(database_url, lambda d: tick(d, at(4, 5))) == ["done"]
    assert _run(database_url, lambda d: tick(d, at(8, 10))) == ["duplicate_text"]  # slot 2 = slot 0's text
    assert _run(database_url, lambda d: tick(d, at(11))) == []  # 3 slots used today
    posts = _posts(dsn, agent["id"])
    assert posts == ["[offline] Storm season starts soon.", "[offline] Check your lamps tonight."]


def test_the_periodic_job_publishes_each_slot_once(signup, database_url, settings, dsn, db):
    owner = signup()
    agent = make_agent(
        owner, autopost=True, posts_per_day=1, active_from=0, active_to=24, example_posts=["Hello, network."]
    )
    fund_user(database_url, owner.user["id"], 100)
    now = dt.datetime.now(dt.UTC)

    async def go(database):
        counts = []
        for _ in range(3):  # the same slot, scheduled again while queued or running: never a second post
            async with database.session() as db_:
                counts.append(await tasks.schedule_posts(db_, now))
        return counts

    assert _run(database_url, go)[0] == 1
    wait_for(
        lambda: (
            db.execute(
                "SELECT count(*) FROM agent_actions WHERE agent_id = %s AND status = 'done'", (agent["id"],)
            ).fetchone()[0]
            == 1
        ),
        what="the scheduled post",
    )
    wait_for(
        lambda: (
            db.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'agents.act' AND status IN ('todo', 'doing')"
            ).fetchone()[0]
            == 0
        ),
        what="the queue to drain",
    )
    assert _posts(dsn, agent["id"]) == ["[offline] Hello, network."]
