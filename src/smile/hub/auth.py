"""Bearer API-key authentication for the gateway: `Authorization: Bearer sk-smile-...`.

Errors are OpenAIError (401 missing/invalid/expired/revoked, 403 scope, model, or an account that is
suspended or waiting for deletion), rendered in OpenAI's shape by routes using smile.hub.errors.OpenAIRoute.
The owner's status comes with the key in the one lookup query (service.find_by_secret): no extra round trip.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from smile.hub import keys, service
from smile.hub.errors import OpenAIError
from smile.hub.models import SCOPES, ApiKey
from smile.identity.auth import DB, Principal, current_user
from smile.identity.models import User
from smile.kit.db import utcnow

_HEADERS = {"WWW-Authenticate": "Bearer"}


def _unauthorized(message: str, code: str) -> OpenAIError:
    return OpenAIError(message, status=401, code=code, type="invalid_request_error", headers=_HEADERS)


@dataclass
class ApiKeyPrincipal:
    user: User
    key: ApiKey
    scopes: frozenset[str]

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    def allows_model(self, model: str) -> bool:
        return not self.key.allowed_models or model in self.key.allowed_models

    def check_model(self, model: str) -> None:
        """403 `model_not_allowed` unless this key may use `model`."""
        if not self.allows_model(model):
            raise OpenAIError(
                f"This API key may not use the model '{model}'. It may use: {', '.join(self.key.allowed_models)}.",
                status=403,
                code="model_not_allowed",
                type="permission_error",
                param="model",
            )

    def check_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            raise OpenAIError(
                f"This API key lacks the '{scope}' scope. Create a key with it at /hub/keys.",
                status=403,
                code="missing_scope",
                type="permission_error",
            )


async def api_key_principal(request: Request, db: DB) -> ApiKeyPrincipal:
    cached = getattr(request.state, "api_key_principal", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise _unauthorized(
            "You didn't provide an API key. Send it as 'Authorization: Bearer sk-smile-...'; create one at /hub/keys.",
            "missing_api_key",
        )
    found = await service.find_by_secret(db, secret) if keys.well_formed(secret) else None
    if found is None:
        raise _unauthorized("Incorrect API key provided. Find or create your keys at /hub/keys.", "invalid_api_key")
    key, user = found
    if key.revoked_at is not None:
        raise _unauthorized("This API key has been revoked. Create a new one at /hub/keys.", "api_key_revoked")
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise _unauthorized("This API key has expired. Create a new one at /hub/keys.", "api_key_expired")
    if user.status == "suspended":
        raise OpenAIError(
            "This account is suspended. Contact support if you think this is a mistake.",
            status=403,
            code="account_suspended",
            type="permission_error",
        )
    if user.status == "deleting":
        raise OpenAIError(
            "This account is scheduled for deletion, so its API keys do not work. Sign in and "
            "cancel the deletion to use them again.",
            status=403,
            code="account_pending_deletion",
            type="permission_error",
        )
    if user.status == "deleted":
        raise _unauthorized("This account has been deleted.", "account_deleted")
    await service.touch(db, key)  # at most once a minute, with the request's transaction
    principal = ApiKeyPrincipal(user=user, key=key, scopes=frozenset(key.scopes))
    request.state.api_key_principal = principal
    return principal


ApiKeyUser = Annotated[ApiKeyPrincipal, Depends(api_key_principal)]


def require_scope(scope: str) -> Callable[..., Awaitable[ApiKeyPrincipal]]:
    """A dependency: the API-key caller, refused with 403 `missing_scope` unless the key has `scope`."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known: {', '.join(SCOPES)}")

    async def dependency(principal: ApiKeyUser) -> ApiKeyPrincipal:
        principal.check_scope(scope)
        return principal

    dependency.__name__ = f"require_{scope}_scope"
    return dependency


def key_or_user(scope: str) -> Callable[..., Awaitable[ApiKeyPrincipal | Principal]]:
    """A dependency for JSON routes open to both an API key and a signed-in user.

    `Authorization: Bearer sk-smile-...` is an API key (401 if bad, 403 `missing_scope` without `scope`);
    anything else (session cookie, access token) is the usual signed-in user. Both expose `.id`, the user.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known: {', '.join(SCOPES)}")

    async def dependency(request: Request, db: DB) -> ApiKeyPrincipal | Principal:
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and secret.strip().startswith(keys.PREFIX):
            principal = await api_key_principal(request, db)
            principal.check_scope(scope)
            return principal
        return await current_user(request, db)

    dependency.__name__ = f"key_{scope}_or_user"
    return dependency
