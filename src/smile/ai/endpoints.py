"""AI: JSON API — the model catalog (everyone signed in reads it; admins change it)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from smile.ai import catalog
from smile.ai.providers import registry
from smile.ai.schemas import ALIAS, ModelCreate, ModelOut, ModelUpdate
from smile.identity.auth import DB, AdminUser, CurrentUser
from smile.kit import runtime
from smile.kit.errors import Invalid, responses
from smile.kit.requests import DBRoute

router = APIRouter(route_class=DBRoute, tags=["ai"])
ADMIN = "/api/v1/admin/ai/models"


def _out(model: catalog.Model) -> ModelOut:
    return ModelOut(**{**asdict(model), "fallbacks": list(model.fallbacks)})


async def _models(db, enabled_only: bool) -> list[ModelOut]:
    return [_out(m) for m in await catalog.models(db, runtime.current().settings, enabled_only=enabled_only)]


@router.get("/api/v1/ai/models", response_model=list[ModelOut], responses=responses(401))
async def list_models(me: CurrentUser, db: DB) -> list[ModelOut]:
    """Models you can call, with their prices in credits per 1M tokens."""
    return await _models(db, enabled_only=True)


@router.get(ADMIN, response_model=list[ModelOut], responses=responses(401, 403, 404))
async def admin_list(admin: AdminUser, db: DB) -> list[ModelOut]:
    return await _models(db, enabled_only=False)


@router.post(ADMIN, response_model=ModelOut, status_code=201, responses=responses(401, 403, 404, 409, 422))
async def admin_create(data: ModelCreate, admin: AdminUser, db: DB) -> ModelOut:
    if data.provider not in registry(runtime.current().settings):
        raise Invalid(f"No provider {data.provider!r} is configured.", fields={"provider": "unknown"})
    return _out(await catalog.create(db, data.model_dump()))


@router.patch(f"{ADMIN}/{{alias:path}}", response_model=ModelOut, responses=responses(401, 403, 404, 422))
async def admin_update(alias: str, data: ModelUpdate, admin: AdminUser, db: DB) -> ModelOut:
    """Change a model's price, context window, upstream model, fallback chain or enabled flag."""
    import re

    if not re.match(ALIAS, alias):
        raise Invalid("Not a model alias.", fields={"alias": "invalid"})
    return _out(await catalog.update(db, alias, data.model_dump(exclude_unset=True, exclude_none=True)))
