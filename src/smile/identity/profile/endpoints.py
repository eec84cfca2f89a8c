"""JSON API: my profile, public profiles, age verification, data export and account deletion."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Path, Query, UploadFile
from fastapi.responses import FileResponse

from smile.identity.auth import DB, CurrentUser, OptionalUser, VerifiedUser
from smile.identity.profile import gdpr, service
from smile.identity.profile.schemas import (
    AgeResult,
    AgeVerification,
    DeleteAccount,
    DeletionScheduled,
    ExportOut,
    ProfileUpdate,
)
from smile.identity.schemas import Me, PublicUser
from smile.kit.errors import responses
from smile.kit.requests import DBRoute

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["users"])


ZIP = {200: {"description": "The export archive (zip).", "content": {"application/zip": {}}}}


@router.get("/users/me", response_model=Me, responses=responses(401))
async def get_me(principal: CurrentUser) -> Me:
    return Me.of(principal.user)


@router.patch("/users/me", response_model=Me, responses=responses(401, 422))
async def update_me(body: ProfileUpdate, principal: CurrentUser, db: DB) -> Me:
    return Me.of(await service.update_profile(db, principal.user, body))


@router.put("/users/me/avatar", response_model=Me, responses=responses(401, 413, 415, 422))
async def upload_avatar(
    principal: CurrentUser,
    db: DB,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF, at most 5 MB")],
) -> Me:
    data = await file.read(service.MAX_AVATAR_BYTES + 1)
    return Me.of(await service.set_avatar(db, principal.user, data))


@router.delete("/users/me/avatar", response_model=Me, responses=responses(401))
async def delete_avatar(principal: CurrentUser, db: DB) -> Me:
    return Me.of(await service.remove_avatar(db, principal.user))


@router.delete("/users/me", response_model=DeletionScheduled, status_code=202, responses=responses(401, 409, 422, 429))
async def delete_me(body: DeleteAccount, principal: CurrentUser, db: DB) -> DeletionScheduled:
    """Schedule erasure after the grace period; every session is signed out."""
    return await gdpr.request_deletion(db, principal.user, body)


@router.post("/users/me/deletion/cancel", response_model=Me, responses=responses(401, 409))
async def cancel_deletion(principal: CurrentUser, db: DB) -> Me:
    return Me.of(await gdpr.cancel_deletion(db, principal.user))


@router.post("/users/me/export", response_model=ExportOut, status_code=202, responses=responses(401, 409))
async def request_export(principal: CurrentUser, db: DB) -> ExportOut:
    """Prepare an archive of your data; a download link is emailed when it is ready."""
    return gdpr.export_out(await gdpr.request_export(db, principal.user))


@router.get("/users/me/exports", response_model=list[ExportOut], responses=responses(401))
async def list_exports(principal: CurrentUser, db: DB) -> list[ExportOut]:
    return [gdpr.export_out(e) for e in await gdpr.list_exports(db, principal.user)]


@router.get(
    "/users/me/exports/{export_id}/download", response_class=FileResponse, responses=ZIP | responses(401, 404, 410)
)
async def download_my_export(export_id: uuid.UUID, principal: CurrentUser, db: DB) -> FileResponse:
    path, name = await gdpr.export_for_owner(db, principal.user, export_id)
    return FileResponse(path, media_type="application/zip", filename=name)


@router.get("/exports/{token}", response_class=FileResponse, responses=ZIP | responses(404, 410))
async def download_export(token: str, db: DB) -> FileResponse:
    """The emailed download link: the token is the only credential needed."""
    path, name = await gdpr.export_by_token(db, token)
    return FileResponse(path, media_type="application/zip", filename=name)


@router.post("/users/verify-age", response_model=AgeResult, responses=responses(401, 403, 409, 422))
async def verify_age(body: AgeVerification, principal: CurrentUser, db: DB) -> AgeResult:
    return await service.verify_age(db, principal.user, body.date_of_birth)


@router.get("/users", response_model=PublicUser, responses=responses(401, 403, 404, 429))
async def find_user(
    email: Annotated[str, Query(min_length=3, max_length=320)], principal: VerifiedUser, db: DB
) -> PublicUser:
    """Find an account by email address; only accounts that allow it can be found."""
    return PublicUser.of(await service.find_by_email(db, email, principal))


@router.get("/users/{username}", response_model=PublicUser, responses=responses(404))
async def get_user(username: Annotated[str, Path(max_length=64)], principal: OptionalUser, db: DB) -> PublicUser:
    return PublicUser.of(await service.public_profile(db, username, principal))
