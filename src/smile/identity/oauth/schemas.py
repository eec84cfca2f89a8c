"""Response bodies for OAuth/OIDC identities and providers."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class IdentityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    provider: str
    email: str | None = Field(description="The email the provider reported when the account was linked")
    created_at: dt.datetime


class ProviderOut(BaseModel):
    name: str
    label: str
    login_url: str = Field(description="Open in a browser to sign in (add ?next=/path to come back there)")
