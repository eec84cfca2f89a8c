"""Background job: re-chunk and re-embed an agent's knowledge (after a model change, or on request)."""

from __future__ import annotations

import uuid

from smile.agents.knowledge import service
from smile.kit import jobs, runtime


@jobs.job_app.task(name="agents.knowledge.reindex", retry=jobs.RETRY)
async def reindex_job(agent_id: str) -> int:
    async with runtime.current().db.session() as db:
        return await service.reindex(db, uuid.UUID(agent_id))
