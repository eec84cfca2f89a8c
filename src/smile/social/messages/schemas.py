"""Direct message schemas."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field, field_validator

from smile.kit.fields import name
from smile.social.media.schemas import MediaOut
from smile.social.schemas import AuthorOut, GeneratedBy

MAX_MEMBERS = 50
MAX_BODY = 5000


class ConversationCreate(BaseModel):
    member_usernames: list[str] = Field(
        min_length=1,
        max_length=MAX_MEMBERS - 1,
        description="Who to talk with (not yourself). One name starts (or reopens) "
        "a 1:1 conversation unless a title is given; more make a group.",
    )
    title: name(100, min_length=0) | None = None

    @field_validator("member_usernames")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        names = list(dict.fromkeys(n.strip().lstrip("@").lower() for n in value if n and n.strip()))
        if not names:
            raise ValueError("name at least one person")
        return names


class MembersAdd(BaseModel):
    usernames: list[str] = Field(min_length=1, max_length=MAX_MEMBERS - 1)


class MessageCreate(BaseModel):
    body: str = Field("", max_length=MAX_BODY)
    media_ids: list[uuid.UUID] = Field(default_factory=list, max_length=4)


class ReadReceipt(BaseModel):
    message_id: uuid.UUID


class MuteSet(BaseModel):
    muted: bool = True


class MessageOut(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    sender: AuthorOut | None
    body: str
    body_html: str
    status: str = Field(description="visible, or held (for moderation review: only you see it).")
    media: list[MediaOut] = []
    created_at: dt.datetime
    generated_by: GeneratedBy | None = None


class ConversationOut(BaseModel):
    id: uuid.UUID
    kind: str  # direct|group
    title: str
    created_by: uuid.UUID | None
    members: list[AuthorOut] = Field(description="Current members, you included.")
    last_message: MessageOut | None
    last_message_at: dt.datetime | None
    unread: int
    muted: bool
    read_by: dict[str, uuid.UUID] = Field(
        default_factory=dict, description="user id -> the last message id each other member has read."
    )


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None = None


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None = None
