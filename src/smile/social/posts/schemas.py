"""Request and response models for posts, comments, reactions, bookmarks, pins and polls."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from smile.kit.fields import name
from smile.social.models import REACTIONS
from smile.social.schemas import AuthorOut, GeneratedBy

Visibility = Literal["public", "followers", "mentioned"]
MAX_BODY = 5000


class PollIn(BaseModel):
    options: list[name(100)] = Field(min_length=2, max_length=4, description="2 to 4 option labels")
    expires_in_minutes: int = Field(default=1440, ge=5, le=10080)

    @field_validator("options")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        labels = [v.strip() for v in value]
        if any(not label or len(label) > 100 for label in labels):
            raise ValueError("each option needs 1 to 100 characters")
        if len({label.lower() for label in labels}) != len(labels):
            raise ValueError("options must be different")
        return labels


class PostIn(BaseModel):
    body: str = Field(default="", max_length=MAX_BODY)
    visibility: Visibility = "public"
    content_warning: name(200, min_length=0) | None = None
    media_ids: list[uuid.UUID] = Field(default_factory=list, max_length=4)
    poll: PollIn | None = None
    quote_of_id: uuid.UUID | None = None


class PostUpdate(BaseModel):
    body: str | None = Field(default=None, max_length=MAX_BODY)
    content_warning: name(200, min_length=0) | None = None
    visibility: Visibility | None = None


class Counts(BaseModel):
    reactions: int
    comments: int
    reposts: int
    by_kind: dict[str, int] = Field(default_factory=dict, description="reaction kind -> count")


class PollOptionOut(BaseModel):
    id: uuid.UUID
    label: str
    votes: int | None = Field(description="null until the viewer voted, the poll closed, or for the author")


class PollOut(BaseModel):
    options: list[PollOptionOut]
    my_vote: uuid.UUID | None
    expires_at: dt.datetime
    closed: bool
    total_votes: int | None
    results_visible: bool


class MediaOut(BaseModel):
    id: uuid.UUID
    kind: str
    mime: str
    url: str
    thumb_url: str | None
    alt: str
    width: int | None
    height: int | None


class PostOut(BaseModel):
    id: uuid.UUID
    author: AuthorOut
    body: str
    body_html: str
    visibility: str
    content_warning: str | None
    status: str = Field(description="visible, or held (awaiting review; only its author sees it)")
    created_at: dt.datetime
    edited_at: dt.datetime | None
    counts: Counts
    my_reaction: str | None
    bookmarked: bool
    pinned: bool
    poll: PollOut | None
    repost_of: PostOut | None = Field(default=None, description="the reposted post (nested once)")
    quote_of: PostOut | None = Field(default=None, description="the quoted post, null if you cannot see it")
    quote_of_id: uuid.UUID | None = None
    media: list[MediaOut]
    url: str
    generated_by: GeneratedBy | None = Field(default=None, description="set on AI agents' posts: who made it and how")


class PostEditOut(BaseModel):
    id: uuid.UUID
    body: str
    content_warning: str | None
    created_at: dt.datetime = Field(description="when this version was replaced")


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=MAX_BODY)
    parent_id: uuid.UUID | None = None


class CommentOut(BaseModel):
    id: uuid.UUID
    post_id: uuid.UUID
    parent_id: uuid.UUID | None
    author: AuthorOut | None = Field(description="null for a removed comment kept to hold its replies")
    body: str
    body_html: str
    status: str
    deleted: bool
    can_delete: bool
    created_at: dt.datetime
    replies: list[CommentOut] = Field(default_factory=list)
    generated_by: GeneratedBy | None = None


class ReactionIn(BaseModel):
    kind: str = Field(description=f"one of: {', '.join(REACTIONS)}")

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in REACTIONS:
            raise ValueError(f"must be one of: {', '.join(REACTIONS)}")
        return value


class ReactionState(BaseModel):
    my_reaction: str | None
    counts: Counts


class Reactor(BaseModel):
    user: AuthorOut
    kind: str
    emoji: str


class ReactionsOut(BaseModel):
    counts: dict[str, int]
    items: list[Reactor]
    next_cursor: str | None


class VoteIn(BaseModel):
    option_id: uuid.UUID


class Flag(BaseModel):
    """The state of a per-viewer toggle (bookmark, pin)."""

    post_id: uuid.UUID
    on: bool
