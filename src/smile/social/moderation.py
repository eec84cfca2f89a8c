"""The moderation step every post, comment and message body passes.

Rules (a configurable blocklist, too many links, repeated-character spam), then the local
text classifier of smile.ai.moderation when it is installed and enabled, then the moderation
endpoint of SMILE_MODERATION_PROVIDER when one is set (its failures never block posting). Held content is
visible only to its author (and admins) until an admin approves it from the moderation queue.

Usage:
    verdict = await moderation.check(db, author, body)      # "visible" or "held"
    ... insert the content with status=verdict ...
    if verdict == "held":
        await moderation.hold(db, "post", post.id, author.id, verdict.rule)
"""

from __future__ import annotations

import re
import uuid
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.ai import moderation as ai_moderation
from smile.identity.models import User
from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.errors import Conflict, Invalid, NotFound
from smile.social.models import Comment, Message, Post, Report

CONTENT = {"post": Post, "comment": Comment, "message": Message}

LINK = re.compile(r"https?://", re.IGNORECASE)
REPEATED = re.compile(r"(\S)\1{29,}")  # the same character 30+ times in a row


class Verdict(str):
    """ "visible" or "held"; `rule` names the rule that held it (None when visible)."""

    rule: str | None = None

    @classmethod
    def held(cls, rule: str) -> Verdict:
        verdict = cls("held")
        verdict.rule = rule
        return verdict


VISIBLE = Verdict("visible")


@lru_cache(maxsize=8)
def _blocklist(raw: str) -> re.Pattern | None:
    """Entries separated by commas: plain words match whole words (case-insensitive); `re:...` is a regex."""
    parts = []
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        parts.append(entry[3:] if entry.startswith("re:") else rf"\b{re.escape(entry)}\b")
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE) if parts else None


def evaluate(text: str, blocklist: str = "", max_links: int = 8) -> str | None:
    """The name of the first rule `text` breaks, or None."""
    pattern = _blocklist(blocklist)
    if pattern is not None and pattern.search(text):
        return "blocklist"
    if len(LINK.findall(text)) > max_links:
        return "links"
    if REPEATED.search(text):
        return "repeated"
    return None


async def check(db: AsyncSession, author: User, text: str) -> Verdict:
    """Decide whether `text` by `author` is shown now ("visible") or held for review ("held")."""
    settings = runtime.current().settings
    rule = evaluate(text or "", settings.moderation_blocklist, settings.moderation_max_links)
    if rule is None and (label := await ai_moderation.flag(text or "", settings)):
        rule = f"ai:{label}"  # the local classifier (SMILE_MODERATION_CLASSIFIER)
    if rule is None and (category := await ai_moderation.provider_flag(text or "", settings)):
        rule = f"provider:{category}"  # the provider's moderation endpoint (SMILE_MODERATION_PROVIDER)
    return Verdict.held(rule) if rule else VISIBLE


async def hold(
    db: AsyncSession, target_type: str, target_id: uuid.UUID, target_user_id: uuid.UUID | None, rule: str | None
) -> Report:
    """Open an automatic report (no reporter) so the content lands in the admin moderation queue."""
    report = Report(
        reporter_id=None,
        target_type=target_type,
        target_id=target_id,
        target_user_id=target_user_id,
        reason=f"auto:{rule or 'rules'}"[:40],
        details="Held automatically by the moderation rules.",
    )
    db.add(report)
    await db.flush()
    return report


# The moderation queue's decisions (smile.admin.moderation decides and audits; these change social's rows).


async def open_report(db: AsyncSession, report_id: uuid.UUID) -> Report:
    """The report, locked, while it is still open (404 unknown, 409 already resolved)."""
    report = await db.get(Report, report_id, with_for_update=True)
    if report is None:
        raise NotFound("No such report.")
    if report.status != "open":
        raise Conflict(f"This report is already {report.status}.", code="wrong_status")
    return report


async def set_visibility(db: AsyncSession, report: Report, visible: bool) -> None:
    """Hide the reported post, comment or message, or approve it (visible again; an approved post that was
    held is fanned out to timelines now). 422 when the target is not content that still exists."""
    model = CONTENT.get(report.target_type)
    content = await db.get(model, report.target_id, with_for_update=True) if model else None
    if content is None:
        raise Invalid(
            "Only posts, comments and messages that still exist can be hidden or approved.",
            fields={"action": "not applicable"},
        )
    content.status = "visible" if visible else "hidden"
    await db.flush()
    if visible and isinstance(content, Post) and content.deleted_at is None:
        from smile.social.timelines import service as timelines

        await timelines.fan_out(db, content)


async def close_reports(db: AsyncSession, report: Report, action: str, actor_id: uuid.UUID) -> None:
    """Close every open report on the same target as `report`: dismissed, or actioned with `action`."""
    status = "dismissed" if action == "dismiss" else "actioned"
    others = await db.scalars(
        select(Report).where(
            Report.target_type == report.target_type, Report.target_id == report.target_id, Report.status == "open"
        )
    )
    now = utcnow()
    for row in others:
        row.status, row.resolution, row.resolved_by, row.resolved_at = status, action, actor_id, now
    await db.flush()
