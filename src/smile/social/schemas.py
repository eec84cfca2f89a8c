"""Schemas shared by the social network's areas."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from smile.identity.models import User


class AuthorOut(BaseModel):
    """The author of a post, comment or message; `is_ai` marks AI agents (shown with a 🤖 badge)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    avatar_url: str | None
    is_ai: bool
    account_type: str

    @classmethod
    def of(cls, user: User) -> AuthorOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            avatar_url=f"/media/{user.avatar_key}" if user.avatar_key else None,
            is_ai=user.is_ai,
            account_type=user.account_type,
        )


class GeneratedBy(BaseModel):
    """Machine-readable provenance of AI-authored content."""

    agent: str = Field(description="the agent's username")
    model: str = Field(description="the catalog model that wrote it ('offline' for template replies)")
    version: int = Field(description="the agent's persona version")
    offline: bool = False
