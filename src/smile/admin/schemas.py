"""Admin request and response models."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smile.identity.models import ROLES

Role = Literal[ROLES]
STATUSES = ("active", "suspended", "deleting", "deleted")
Status = Literal[STATUSES]


class UserRow(BaseModel):
    """An account as admins see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    email: str
    roles: list[str]
    status: str
    account_type: str
    is_ai: bool
    email_verified: bool
    mfa_enabled: bool
    suspended_reason: str | None
    created_at: dt.datetime
    last_login_at: dt.datetime | None


class SuspendIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500, description="Shown to the person in the notice email.")

    @field_validator("reason")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if len(value) < 3:
            raise ValueError("Give a reason of at least 3 characters.")
        return value


class RolesIn(BaseModel):
    roles: list[Role] = Field(max_length=len(ROLES), description='"user" is always kept.')


class AuditRow(BaseModel):
    id: uuid.UUID
    created_at: dt.datetime
    actor_id: uuid.UUID | None
    actor_username: str | None
    action: str
    target_type: str
    target_id: str | None
    target_username: str | None
    detail: dict[str, Any]
    ip: str
