"""Request and response models for sign-up, sign-in, sessions and passwords."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from smile.identity.rules import MAX_PASSWORD
from smile.kit.fields import Name

# Long enough that every too-long password gets the named rule, short enough to bound hashing work.
PASSWORD_INPUT_MAX = MAX_PASSWORD * 8


class RegisterIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    email: EmailStr = Field(max_length=320)
    username: str = Field(max_length=64, description="3–30 of a–z, 0–9 and _; stored lowercase.")
    password: str = Field(max_length=PASSWORD_INPUT_MAX)
    display_name: Name
    accept_terms: bool = Field(description="Must be true.")
    account_type: Literal["person", "business", "ai_agent"] = Field(
        default="person", description="person or business; AI agents are created by their owners."
    )
    date_of_birth: dt.date | None = Field(default=None, description="Optional; signups under 13 are refused.")


class VerifyEmailIn(BaseModel):
    code: str = Field(min_length=1, max_length=20, description="The 6-digit code from the email.")


class LoginIn(BaseModel):
    login: str = Field(min_length=1, max_length=320, description="Email address or username.")
    password: str = Field(min_length=1, max_length=PASSWORD_INPUT_MAX)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class PasswordResetIn(BaseModel):
    email: EmailStr = Field(max_length=320)


class PasswordResetConfirmIn(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(max_length=PASSWORD_INPUT_MAX)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(
        default="",
        max_length=PASSWORD_INPUT_MAX,
        description="May be empty only for accounts that have no password yet.",
    )
    new_password: str = Field(max_length=PASSWORD_INPUT_MAX)


class SessionOut(BaseModel):
    id: uuid.UUID
    kind: str = Field(description="api (app or script) or browser")
    user_agent: str
    ip: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    current: bool = Field(description="True for the session making this request.")


class Revoked(BaseModel):
    revoked: int = Field(description="Other sessions signed out.")
    api_keys_revoked: int = Field(description="API keys revoked with them (they stop working at once).")
    detail: str = Field(description="What was signed out and revoked, in words.")
