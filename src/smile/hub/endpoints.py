"""hub: JSON API for API keys (managed by the signed-in user) and key introspection (by the key)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query, Request, Response

from smile.hub import service
from smile.hub.auth import ApiKeyUser
from smile.hub.errors import OpenAIRoute, openai_responses
from smile.hub.schemas import CurrentKey, KeyCreate, KeyCreated, KeyOut, KeyUpdate
from smile.identity.auth import DB, CurrentUser, VerifiedUser
from smile.identity.sessions import client_info
from smile.kit import runtime
from smile.kit.errors import responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from smile.kit.requests import DBRoute

router = APIRouter(route_class=DBRoute, tags=["hub"])

KEYS = "/api/v1/hub/keys"


async def current_key(me: ApiKeyUser) -> CurrentKey:
    """The API key this request is authenticated with (`Authorization: Bearer sk-smile-...`).

    Errors use OpenAI's shape, as on the /v1 gateway routes."""
    return CurrentKey(key=service.key_out(me.key), user_id=me.user.id, username=me.user.username)


# Registered before /{key_id}, so "current" is not read as an id; errors in OpenAI's shape.
router.add_api_route(
    f"{KEYS}/current",
    current_key,
    methods=["GET"],
    response_model=CurrentKey,
    responses=openai_responses(401, 403),
    route_class_override=OpenAIRoute,
)


@router.post(KEYS, response_model=KeyCreated, status_code=201, responses=responses(401, 403, 409, 422, 429))
async def create_key(data: KeyCreate, request: Request, response: Response, me: VerifiedUser, db: DB) -> KeyCreated:
    """Create a key. The response holds the `secret` — the only time it is shown; only a hash is kept."""
    await runtime.current().limiter.hit(
        runtime.current().settings.rate_hub_key_create,
        "hub-key-create",
        str(me.id),
        message="You are creating API keys too quickly.",
    )
    response.headers["Cache-Control"] = "no-store"
    return await service.create_key(db, me.user, data, client_info(request)[1])


@router.get(KEYS, response_model=Page[KeyOut], responses=responses(401, 422))
async def list_keys(
    me: CurrentUser,
    db: DB,
    status: Literal["active", "inactive"] | None = None,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[KeyOut]:
    """Your keys, newest first (never their secrets). `status=active` or `inactive` (revoked or expired)."""
    items, next_cursor = await service.list_keys(db, me.id, cursor, limit, status)
    return Page(items=items, next_cursor=next_cursor)


@router.get(f"{KEYS}/{{key_id}}", response_model=KeyOut, responses=responses(401, 404))
async def get_key(key_id: uuid.UUID, me: CurrentUser, db: DB) -> KeyOut:
    return await service.get_key(db, me.id, key_id)


@router.patch(f"{KEYS}/{{key_id}}", response_model=KeyOut, responses=responses(401, 403, 404, 409, 422))
async def update_key(key_id: uuid.UUID, data: KeyUpdate, me: VerifiedUser, db: DB) -> KeyOut:
    """Rename, or change scopes, allowed models or limits (null removes the key's own limit)."""
    return await service.update_key(db, me.id, key_id, data)


@router.delete(f"{KEYS}/{{key_id}}", response_model=KeyOut, responses=responses(401, 404))
async def revoke_key(key_id: uuid.UUID, request: Request, me: CurrentUser, db: DB) -> KeyOut:
    """Revoke the key for good; requests with it are refused from now on. Revoking twice is harmless."""
    return await service.revoke_key(db, me.user, key_id, client_info(request)[1])
