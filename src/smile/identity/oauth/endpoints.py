"""OAuth/OIDC API: configured providers, my linked identities, unlink."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from smile.identity.auth import DB, CurrentUser
from smile.identity.oauth import client, service
from smile.identity.oauth.schemas import IdentityOut, ProviderOut
from smile.identity.sessions import client_info
from smile.kit.requests import DBRoute

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["oauth"])
ProviderName = Annotated[str, Path(max_length=50)]


@router.get("/auth/oauth/providers", response_model=list[ProviderOut])
async def oauth_providers() -> list[ProviderOut]:
    """Sign-in providers configured on this server (the browser flow starts at login_url)."""
    return [
        ProviderOut(name=p.name, label=p.label, login_url=f"/auth/oauth/{p.name}/login") for p in client.providers()
    ]


@router.get("/auth/oauth/identities", response_model=list[IdentityOut])
async def oauth_identities(me: CurrentUser, db: DB) -> list[IdentityOut]:
    """Provider accounts linked to me."""
    return [IdentityOut.model_validate(i) for i in await service.list_identities(db, me.id)]


@router.post(
    "/auth/oauth/{provider}/unlink",
    status_code=204,
    response_class=Response,
    responses={
        404: {"description": "No account of this provider is linked"},
        409: {"description": "It is the last way to sign in to this account"},
    },
)
async def oauth_unlink(provider: ProviderName, me: CurrentUser, db: DB, request: Request) -> Response:
    """Unlink a provider account; refused when it is the only way left to sign in."""
    await service.unlink(db, me.user, provider, ip=client_info(request)[1])
    return Response(status_code=204)
