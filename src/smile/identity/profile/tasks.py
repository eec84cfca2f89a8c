"""Background jobs for profiles and GDPR: media cleanup, export archives, expiry and erasure."""

from __future__ import annotations

import uuid

import structlog

from smile.identity.profile import gdpr
from smile.kit import jobs, runtime

log = structlog.get_logger("smile.gdpr")


@jobs.job_app.task(name="profile.delete_media", retry=jobs.RETRY)
async def delete_media(key: str) -> None:
    """Remove a media file that a committed change no longer references."""
    runtime.current().storage.delete(key)


@jobs.job_app.task(name="profile.build_export", retry=jobs.RETRY)
async def build_export(export_id: str) -> None:
    async with runtime.current().db.session() as db:
        await gdpr.build_export(db, uuid.UUID(export_id))


@jobs.job_app.periodic(cron="*/15 * * * *")
@jobs.job_app.task(name="profile.purge_exports", retry=jobs.RETRY)
async def purge_exports(timestamp: int) -> None:
    async with runtime.current().db.session() as db:
        count = await gdpr.purge_exports(db)
    if count:
        log.info("exports_expired", count=count)


@jobs.job_app.periodic(cron="*/15 * * * *")
@jobs.job_app.task(name="profile.erase_due_accounts", retry=jobs.RETRY)
async def erase_due_accounts(timestamp: int) -> None:
    async with runtime.current().db.session() as db:
        count = await gdpr.erase_due_accounts(db)
    if count:
        log.info("accounts_erased", count=count)
