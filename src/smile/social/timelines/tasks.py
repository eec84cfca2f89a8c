"""Background jobs: fan-out of new posts and backfill after a follow."""

from __future__ import annotations

import uuid

from smile.kit import jobs, runtime
from smile.social.timelines import fanout


@jobs.job_app.task(name="timelines.fan_out_post", retry=jobs.RETRY)
async def fan_out_post(post_id: str) -> None:
    async with runtime.current().db.session() as db:
        await fanout.fan_out_now(db, uuid.UUID(post_id))


@jobs.job_app.task(name="timelines.backfill", retry=jobs.RETRY)
async def backfill(follower_id: str, followee_id: str) -> None:
    async with runtime.current().db.session() as db:
        await fanout.backfill(db, uuid.UUID(follower_id), uuid.UUID(followee_id))
