"""hub: request and response models for API keys."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator

from smile.kit.fields import Name, int32

Scope = Literal["chat", "embeddings", "models", "usage", "mcp"]
ModelId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,99}$")]


def _unique(values: list) -> list:
    return list(dict.fromkeys(values))


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


Scopes = Annotated[list[Scope], Field(min_length=1, max_length=5), AfterValidator(_unique)]
Models = Annotated[list[ModelId], Field(max_length=50), AfterValidator(_unique)]


class KeyCreate(BaseModel):
    name: Name
    scopes: Scopes = Field(
        default_factory=lambda: ["chat", "embeddings", "models", "usage", "mcp"],
        description="What the key may do; every scope when left out.",
    )
    allowed_models: Models = Field(default_factory=list, description="Model ids the key may use; empty = all.")
    credit_limit: int | None = Field(None, ge=1, le=10**15, description="Credits the key may spend in total.")
    rpm_limit: int32(ge=1) | None = Field(
        None, description="Requests per minute (default: the server's per-key limit)."
    )
    tpm_limit: int32(ge=1) | None = Field(None, description="Tokens per minute (default: the server's per-key limit).")
    expires_at: dt.datetime | None = Field(None, description="When the key stops working (UTC when no offset).")

    @field_validator("expires_at")
    @classmethod
    def _future(cls, value: dt.datetime | None) -> dt.datetime | None:
        value = _utc(value)
        if value is not None and value <= dt.datetime.now(dt.UTC):
            raise ValueError("must be in the future")
        return value


class KeyUpdate(BaseModel):
    """Fields to change; a null credit_limit / rpm_limit / tpm_limit removes the key's own limit."""

    name: Name | None = None
    scopes: Scopes | None = None
    allowed_models: Models | None = None
    credit_limit: int | None = Field(None, ge=1, le=10**15)
    rpm_limit: int32(ge=1) | None = None
    tpm_limit: int32(ge=1) | None = None


class KeyOut(BaseModel):
    id: uuid.UUID
    name: str
    hint: str = Field(description="The start and end of the secret, to recognise the key.")
    status: Literal["active", "expired", "revoked"]
    scopes: list[str]
    allowed_models: list[str]
    credit_limit: int | None
    spent_credits: int
    rpm_limit: int
    tpm_limit: int
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None = Field(description="Updated at most once a minute.")


class KeyCreated(KeyOut):
    secret: str = Field(description="The key itself. Shown this once: it cannot be retrieved again.")


class CurrentKey(BaseModel):
    """The key a request is authenticated with (GET /api/v1/hub/keys/current)."""

    key: KeyOut
    user_id: uuid.UUID
    username: str
