"""Media: upload, attach to a post or message, access-checked reads, cleanup."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.errors import Invalid, NotFound
from smile.kit.ids import new_id
from smile.social import visibility
from smile.social.media.processing import Processed, process
from smile.social.models import ConversationMember, Media, Message

MAX_ALT = 1500
MAX_IMAGES = 4
UNATTACHED_HOURS = 24


def file_url(media: Media) -> str:
    return f"/media/post/{media.id}"


def thumb_url(media: Media) -> str | None:
    return f"/media/post/{media.id}/thumb" if media.thumb_key else None


def _store(prepared: Processed, path: Path, key: str, thumb_key: str | None) -> None:
    storage = runtime.current().storage
    if prepared.image is not None:
        storage.save(key, prepared.image, prepared.mime)
    else:
        storage.save_file(key, path, prepared.mime)
    if thumb_key and prepared.thumb is not None:
        storage.save(thumb_key, prepared.thumb, "image/webp")


async def create(db: AsyncSession, owner_id: uuid.UUID, path: Path, size: int, alt: str = "") -> Media:
    """Sniff, re-encode (images) and store an uploaded file; the row stays unattached until used."""
    alt = (alt or "").strip()
    if len(alt) > MAX_ALT:
        raise Invalid(f"Alt text is limited to {MAX_ALT} characters.", fields={"alt": "too_long"})
    await runtime.current().limiter.hit(
        runtime.current().settings.rate_media_upload,
        "media",
        str(owner_id),
        message="You are uploading too many files.",
    )
    prepared = await asyncio.to_thread(process, path, runtime.current().settings.media_max_decoded_pixels)
    media_id = new_id()
    # Never under a public prefix (avatars/): these are served only by access-checked routes.
    key = f"private/{owner_id}/{media_id}.{prepared.ext}"
    thumb_key = f"private/{owner_id}/{media_id}.thumb.webp" if prepared.thumb is not None else None
    await asyncio.to_thread(_store, prepared, path, key, thumb_key)
    media = Media(
        id=media_id,
        owner_id=owner_id,
        kind=prepared.kind,
        mime=prepared.mime,
        storage_key=key,
        thumb_key=thumb_key,
        alt=alt,
        width=prepared.width,
        height=prepared.height,
        size_bytes=len(prepared.image) if prepared.image is not None else size,
    )
    db.add(media)
    await db.flush()
    return media


async def attach(
    db: AsyncSession,
    owner_id: uuid.UUID,
    media_ids: list[uuid.UUID],
    *,
    post_id: uuid.UUID | None = None,
    message_id: uuid.UUID | None = None,
) -> list[Media]:
    """Attach the owner's unattached uploads, in the given order, to one post or message.

    At most 4 images, or exactly 1 video, never mixed. Raises Invalid otherwise.
    """
    if (post_id is None) == (message_id is None):
        raise ValueError("attach to exactly one of post_id or message_id")
    if not media_ids:
        return []
    ids = list(dict.fromkeys(media_ids))
    if len(ids) != len(media_ids):
        raise Invalid("The same file is attached twice.", fields={"media_ids": "duplicate"})
    rows = {
        m.id: m
        for m in await db.scalars(select(Media).where(Media.id.in_(ids), Media.owner_id == owner_id).with_for_update())
    }
    missing = [i for i in ids if i not in rows]
    if missing:
        raise Invalid(
            "An attached file does not exist or is not yours; upload it again.", fields={"media_ids": "unknown"}
        )
    if any(m.post_id is not None or m.message_id is not None for m in rows.values()):
        raise Invalid(
            "An attached file is already used by another post or message.", fields={"media_ids": "already_attached"}
        )
    kinds = {m.kind for m in rows.values()}
    if "video" in kinds and (len(ids) > 1 or len(kinds) > 1):
        raise Invalid("Attach either one video or up to 4 images, not both.", fields={"media_ids": "mixed"})
    if len(ids) > MAX_IMAGES:
        raise Invalid(f"Attach at most {MAX_IMAGES} images.", fields={"media_ids": "too_many"})
    ordered = [rows[i] for i in ids]
    for position, media in enumerate(ordered):
        media.post_id, media.message_id, media.position = post_id, message_id, position
    await db.flush()
    return ordered


async def viewable(db: AsyncSession, viewer_id: uuid.UUID | None, media_id: uuid.UUID) -> Media:
    """The media if the viewer may see what it is attached to; otherwise 404.

    Post media follow the post's visibility; message media need a current conversation
    member; an unattached upload is visible to its owner only.
    """
    media = await db.get(Media, media_id)
    if media is None:
        raise NotFound("No such file.")
    if media.post_id is not None:
        await visibility.get_visible_post(db, viewer_id, media.post_id)
        return media
    if media.message_id is not None and viewer_id is not None:
        message = await db.get(Message, media.message_id)
        member = (
            await db.scalar(
                select(ConversationMember.user_id).where(
                    ConversationMember.conversation_id == message.conversation_id,
                    ConversationMember.user_id == viewer_id,
                    ConversationMember.left_at.is_(None),
                )
            )
            if message
            else None
        )
        if (
            member is not None
            and message.deleted_at is None
            and (message.status == "visible" or message.sender_id == viewer_id)
            and not await _blocked_sender(db, viewer_id, message.sender_id)
        ):
            return media
        raise NotFound("No such file.")
    if media.message_id is None and media.owner_id == viewer_id:
        return media
    raise NotFound("No such file.")


async def _blocked_sender(db: AsyncSession, viewer_id: uuid.UUID, sender_id: uuid.UUID | None) -> bool:
    if sender_id is None or sender_id == viewer_id:
        return False
    return await visibility.is_blocked(db, viewer_id, sender_id)


async def delete_stale(db: AsyncSession, hours: int = UNATTACHED_HOURS) -> list[tuple[str, str | None]]:
    """Remove rows of uploads never attached within `hours`; returns their storage keys."""
    cutoff = utcnow() - dt.timedelta(hours=hours)
    rows = (
        await db.execute(
            delete(Media)
            .where(Media.post_id.is_(None), Media.message_id.is_(None), Media.created_at < cutoff)
            .returning(Media.storage_key, Media.thumb_key)
        )
    ).all()
    return [(r[0], r[1]) for r in rows]
