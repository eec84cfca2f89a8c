"""Request and response models for profiles, privacy, age and GDPR."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
import zoneinfo
from functools import lru_cache
from typing import Literal
from urllib.parse import urlparse

import nh3
from pydantic import BaseModel, ConfigDict, Field, field_validator

from smile.kit.fields import Name, name

LANGUAGE_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|\d{3}))?")
MAX_LINKS = 5
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@lru_cache
def timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def plain_text(value: str) -> str:
    """Strip every HTML tag (and script/style content) and control characters; keep the text."""
    for _ in range(3):  # entity-encoded tags decode into tags: clean until stable
        cleaned = html.unescape(nh3.clean(value, tags=set()))
        if cleaned == value:
            break
        value = cleaned
    return CONTROL_RE.sub("", value).strip()


def _link(value: str) -> str:
    value = value.strip()
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or re.search(r"\s", value):
        raise ValueError(f"{value[:80]!r} is not a valid http(s) link")
    return value


class ProfileUpdate(BaseModel):
    """Fields to change; omitted (or null) fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    display_name: Name | None = None
    bio: str | None = Field(default=None, max_length=500, description="Plain text; HTML is stripped.")
    links: list[str] | None = Field(default=None, max_length=MAX_LINKS, description="Up to 5 http(s) URLs.")
    location: name(100, min_length=0) | None = None
    language: str | None = Field(default=None, max_length=16, examples=["en", "pt-BR"])
    timezone: str | None = Field(default=None, max_length=64, examples=["Europe/Paris"])
    is_private: bool | None = None
    who_can_message: Literal["everyone", "followers", "following", "nobody"] | None = Field(
        default=None,
        description="Who may start a conversation with me or add me to one: everyone, "
        "followers (people who follow me), following (people I follow), nobody.",
    )
    discoverable_by_email: bool | None = None

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = plain_text(value)
        if not value:
            raise ValueError("the display name cannot be empty")
        return value

    @field_validator("bio", "location")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        return None if value is None else plain_text(value)

    @field_validator("links")
    @classmethod
    def _links(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        links = [_link(v) for v in value if v.strip()]
        if any(len(link) > 300 for link in links):
            raise ValueError("links are at most 300 characters")
        return list(dict.fromkeys(links))

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and not LANGUAGE_RE.fullmatch(value):
            raise ValueError("use a language code such as en, fr or pt-BR")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is not None and value not in timezones():
            raise ValueError("use an IANA time zone such as Europe/Paris or America/New_York")
        return value


class AgeVerification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date_of_birth: dt.date


class AgeResult(BaseModel):
    is_adult: bool
    age_verified_at: dt.datetime


class ExportOut(BaseModel):
    id: uuid.UUID
    status: Literal["pending", "ready", "expired", "failed"]
    created_at: dt.datetime
    completed_at: dt.datetime | None
    expires_at: dt.datetime | None
    size: int | None = Field(description="Archive size in bytes, once ready.")
    download_url: str | None = Field(description="Signed-in download link while the archive is ready.")


class DeleteAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(default=None, max_length=200, description="Your password (accounts that have one).")
    confirm: str | None = Field(
        default=None, max_length=20, description='Accounts without a password (OAuth sign-in) send "DELETE".'
    )


class DeletionScheduled(BaseModel):
    status: Literal["deleting"] = "deleting"
    erase_after: dt.datetime
    detail: str
