"""Outgoing email: a row per message (written in the caller's transaction), sent by a job.

With SMILE_SMTP_URL the job delivers through SMTP (aiosmtplib); without it the message
stays captured in the database, readable at /dev/mail in dev mode.
"""

from __future__ import annotations

import datetime as dt
import uuid
from email.message import EmailMessage

import aiosmtplib
import structlog
from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from smile.kit import jobs, runtime
from smile.kit.db import Base, IdMixin, TimestampMixin, utcnow

log = structlog.get_logger("smile.mail")


class Email(IdMixin, TimestampMixin, Base):
    __tablename__ = "emails"

    to: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|sent|captured|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


async def send(session: AsyncSession, to: str, subject: str, body: str) -> uuid.UUID:
    """Queue an email; it leaves only if the caller's transaction commits."""
    email = Email(to=to, subject=subject, body=body)
    session.add(email)
    await session.flush()
    await jobs.defer(session, deliver, email_id=str(email.id))
    return email.id


@jobs.job_app.task(name="mail.deliver", retry=jobs.RETRY, queue="mail")
async def deliver(email_id: str) -> None:
    rt = runtime.current()
    async with rt.db.session() as session:
        email = await session.scalar(select(Email).where(Email.id == uuid.UUID(email_id)).with_for_update())
        if email is None or email.status in ("sent", "captured"):
            return  # idempotent
        email.attempts += 1
        if not rt.settings.smtp_url:
            email.status = "captured"
            email.sent_at = utcnow()
            return
        message = EmailMessage()
        message["From"] = rt.settings.mail_from
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Message-ID"] = f"<{email.id}@smile>"
        message.set_content(email.body)
        try:
            await aiosmtplib.send(message, **rt.settings.smtp, timeout=20)
        except (aiosmtplib.SMTPException, OSError) as exc:
            email.error = str(exc)[:1000]
            log.warning("mail_failed", email_id=email_id, error=str(exc))
            await session.commit()
            raise  # procrastinate retries with backoff
        email.status = "sent"
        email.sent_at = utcnow()
        email.error = None
