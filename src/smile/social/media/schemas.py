"""Media API schemas."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from smile.social.models import Media


class MediaOut(BaseModel):
    """An uploaded image or video. `url`/`thumb_url` are access-checked (cookie or bearer)."""

    id: uuid.UUID
    kind: str  # image|video
    mime: str
    url: str
    thumb_url: str | None  # None for videos (stored as uploaded, no poster frame)
    width: int | None
    height: int | None
    alt: str
    size: int

    @classmethod
    def of(cls, media: Media) -> MediaOut:
        from smile.social.media.service import file_url, thumb_url

        return cls(
            id=media.id,
            kind=media.kind,
            mime=media.mime,
            url=file_url(media),
            thumb_url=thumb_url(media),
            width=media.width,
            height=media.height,
            alt=media.alt or "",
            size=media.size_bytes,
        )
