"""AI API schemas: the model catalog."""

from __future__ import annotations

from pydantic import BaseModel, Field

ALIAS = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$"


class ModelOut(BaseModel):
    id: str
    provider: str
    upstream_model: str
    input_credits_per_m: int
    output_credits_per_m: int
    cached_credits_per_m: int
    context_window: int
    enabled: bool
    fallbacks: list[str]


class ModelUpdate(BaseModel):
    upstream_model: str | None = Field(None, min_length=1, max_length=200)
    input_credits_per_m: int | None = Field(None, ge=0, le=10**12)
    output_credits_per_m: int | None = Field(None, ge=0, le=10**12)
    cached_credits_per_m: int | None = Field(None, ge=0, le=10**12)
    context_window: int | None = Field(None, ge=1, le=10**8)
    enabled: bool | None = None
    fallbacks: list[str] | None = Field(None, max_length=10)


class ModelCreate(BaseModel):
    id: str = Field(pattern=ALIAS)
    provider: str = Field(min_length=1, max_length=60)
    upstream_model: str = Field(min_length=1, max_length=200)
    input_credits_per_m: int = Field(ge=0, le=10**12)
    output_credits_per_m: int = Field(ge=0, le=10**12)
    cached_credits_per_m: int = Field(0, ge=0, le=10**12)
    context_window: int = Field(8192, ge=1, le=10**8)
    enabled: bool = True
    fallbacks: list[str] = Field(default_factory=list, max_length=10)
