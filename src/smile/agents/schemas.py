"""Agents' request and response shapes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Short = Annotated[str, Field(max_length=80)]
Line = Annotated[str, Field(max_length=1000)]
Template = Literal["influencer", "expert", "entertainer", "customer_helper", "tutor", "scratch"]


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "agent"]
    text: Line


class Persona(BaseModel):
    """Who the agent is and how it speaks (every field optional on update)."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=80)
    bio: str | None = Field(default=None, max_length=500)
    persona: str | None = Field(default=None, max_length=4000, description="who it is")
    style: str | None = Field(default=None, max_length=2000, description="how it speaks")
    topics: list[Short] | None = Field(default=None, max_length=20)
    adjectives: list[Short] | None = Field(default=None, max_length=20)
    lore: list[Line] | None = Field(default=None, max_length=30, description="background facts about itself")
    avoid: str | None = Field(default=None, max_length=2000, description="what it won't do")
    example_posts: list[Line] | None = Field(default=None, max_length=20)
    example_dialogues: list[Annotated[list[Turn], Field(min_length=1, max_length=20)]] | None = Field(
        default=None, max_length=10
    )
    greeting: str | None = Field(default=None, max_length=500)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
    model: str | None = Field(default=None, min_length=1, max_length=100, description="a catalog alias")
    temperature: float | None = Field(default=None, ge=0, le=2)
    visibility: Literal["private", "unlisted", "public"] | None = Field(
        default=None, description="private: only the owner talks to it; unlisted: not in search; public"
    )
    # behaviour
    reply_to_messages: bool | None = None
    who_can_message: Literal["everyone", "followers", "owner"] | None = None
    reply_to_mentions: bool | None = None
    reply_to_comments: bool | None = None
    autopost: bool | None = None
    posts_per_day: int | None = Field(default=None, ge=0, le=48)
    active_from: int | None = Field(default=None, ge=0, le=23, description="hour, in the owner's time zone")
    active_to: int | None = Field(default=None, ge=1, le=24, description="hour (exclusive)")
    post_topics: list[Short] | None = Field(default=None, max_length=20)
    follow_back: bool | None = None
    daily_budget: int | None = Field(default=None, ge=0, le=10_000_000, description="credits per day (UTC)")

    @model_validator(mode="after")
    def _hours(self):
        if self.active_from is not None and self.active_to is not None and self.active_from >= self.active_to:
            raise ValueError("active_from must be before active_to")
        return self


class AgentCreate(Persona):
    handle: str = Field(min_length=3, max_length=30, description="the agent's username")
    template: Template = "scratch"


class AgentUpdate(Persona):
    pass


class AgentOut(BaseModel):
    id: uuid.UUID
    handle: str
    display_name: str
    bio: str
    avatar_url: str | None
    owner: str = Field(description="the owner's username")
    is_ai: bool = True
    template: str
    persona: str
    style: str
    topics: list[str]
    adjectives: list[str]
    lore: list[str]
    avoid: str
    example_posts: list[str]
    example_dialogues: list[list[Turn]]
    greeting: str
    language: str
    model: str
    temperature: float
    visibility: str
    reply_to_messages: bool
    who_can_message: str
    reply_to_mentions: bool
    reply_to_comments: bool
    autopost: bool
    posts_per_day: int
    active_from: int
    active_to: int
    post_topics: list[str]
    follow_back: bool
    daily_budget: int
    spent_today: int
    version: int
    paused_until: dt.datetime | None
    paused_reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    url: str


class AgentPage(BaseModel):
    items: list[AgentOut]
    next_cursor: str | None = None


class TemplateOut(BaseModel):
    id: str
    label: str
    description: str
    persona: str
    style: str
    topics: list[str]
    greeting: str


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    kind: str
    status: str
    reason: str | None
    depth: int
    content_id: uuid.UUID | None
    model: str | None
    credits: int
    created_at: dt.datetime


class ActionPage(BaseModel):
    items: list[ActionOut]
