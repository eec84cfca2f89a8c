"""Timeline pages."""

from __future__ import annotations

from pydantic import BaseModel

from smile.social.posts.schemas import PostOut


class Timeline(BaseModel):
    items: list[PostOut]
    next_cursor: str | None = None
