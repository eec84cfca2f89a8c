"""Follows, blocks, mutes, profiles and reports."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from smile.identity.schemas import PublicUser
from smile.social.schemas import AuthorOut

REPORT_REASONS = ("spam", "harassment", "hate", "violence", "nudity", "misinformation", "other")


class FollowStatus(BaseModel):
    status: Literal["accepted", "pending", "none"]


class Relationship(BaseModel):
    following: bool = False
    followed_by: bool = False
    requested: bool = False
    requested_by: bool = False
    blocking: bool = False
    muting: bool = False


class Counts(BaseModel):
    followers: int
    following: int
    posts: int


class ProfileOut(PublicUser):
    counts: Counts
    relationship: Relationship | None = None
    is_self: bool = False


class AccountPage(BaseModel):
    items: list[AuthorOut]
    next_cursor: str | None = None


class ReportIn(BaseModel):
    target_type: Literal["post", "comment", "user", "message"]
    target_id: uuid.UUID
    reason: Literal["spam", "harassment", "hate", "violence", "nudity", "misinformation", "other"]
    details: str = Field(default="", max_length=2000)


class ReportOut(BaseModel):
    id: uuid.UUID
    target_type: str
    target_id: uuid.UUID
    reason: str
    details: str
    status: str
    created_at: dt.datetime
