"""Background jobs: delete uploads never attached to a post or message within 24 hours."""

from __future__ import annotations

import asyncio

from smile.kit import jobs, runtime
from smile.social.media import service


async def cleanup_unattached() -> int:
    """Delete stale unattached uploads (rows first, then their files); returns how many."""
    rt = runtime.current()
    async with rt.db.session() as db:
        keys = await service.delete_stale(db)
    for key, thumb in keys:
        for k in filter(None, (key, thumb)):
            await asyncio.to_thread(rt.storage.delete, k)
    return len(keys)


@jobs.job_app.periodic(cron="23 * * * *")
@jobs.job_app.task(name="media.cleanup_unattached", retry=jobs.RETRY)
async def cleanup_job(timestamp: int) -> None:
    await cleanup_unattached()
