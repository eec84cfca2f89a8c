"""Account schemas shared by identity's sub-packages and other domains."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict

from smile.identity.models import User


class PublicUser(BaseModel):
    """What anyone may see of an account; `is_ai` marks AI agents everywhere."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    account_type: str
    is_ai: bool
    bio: str
    avatar_url: str | None
    location: str
    links: list[str]
    is_private: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, user: User) -> PublicUser:
        return cls(**_public_fields(user))


class Me(PublicUser):
    email: str
    email_verified: bool
    roles: list[str]
    status: str
    language: str
    timezone: str
    who_can_message: str
    discoverable_by_email: bool
    is_adult: bool
    age_verified_at: dt.datetime | None
    mfa_enabled: bool
    deletion_requested_at: dt.datetime | None

    @classmethod
    def of(cls, user: User) -> Me:
        return cls(
            **_public_fields(user),
            email=user.email,
            email_verified=user.email_verified,
            roles=list(user.roles or []),
            status=user.status,
            language=user.language,
            timezone=user.timezone,
            who_can_message=user.who_can_message,
            discoverable_by_email=user.discoverable_by_email,
            is_adult=user.is_adult,
            age_verified_at=user.age_verified_at,
            mfa_enabled=user.mfa_enabled,
            deletion_requested_at=user.deletion_requested_at,
        )


def _public_fields(user: User) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "account_type": user.account_type,
        "is_ai": user.is_ai,
        "bio": user.bio or "",
        "avatar_url": f"/media/{user.avatar_key}" if user.avatar_key else None,
        "location": user.location or "",
        "links": list(user.links or []),
        "is_private": user.is_private,
        "created_at": user.created_at,
    }


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    user: Me


class MfaChallenge(BaseModel):
    mfa_required: bool = True
    mfa_token: str
    detail: str = "Enter the 6-digit code from your authenticator app, or a recovery code."


class Message(BaseModel):
    detail: str
