"""Notification schemas."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from smile.social.schemas import AuthorOut


class PostExcerpt(BaseModel):
    id: uuid.UUID
    excerpt: str


class NotificationOut(BaseModel):
    id: uuid.UUID
    kind: str
    text: str = Field(description="A sentence for people, e.g. 'alice started following you'.")
    actor: AuthorOut | None
    post: PostExcerpt | None = Field(None, description="Only when the post still exists and you may see it.")
    comment_id: uuid.UUID | None
    conversation_id: uuid.UUID | None
    read: bool
    created_at: dt.datetime


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None = None
    unread: int


class UnreadCount(BaseModel):
    unread: int


class MarkRead(BaseModel):
    ids: list[uuid.UUID] | None = Field(None, max_length=500)
    all: bool = False
