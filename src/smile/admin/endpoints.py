"""Admin JSON API: users, suspensions, roles, audit log. Admins only (with two-factor); others get 404."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from smile.admin import service
from smile.admin.schemas import AuditRow, Role, RolesIn, Status, SuspendIn, UserRow
from smile.identity.auth import DB, AdminUser
from smile.identity.sessions import client_info
from smile.kit.errors import ErrorBody
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from smile.kit.requests import DBRoute

ERRORS: dict[int | str, dict] = {
    401: {"model": ErrorBody, "description": "Not signed in"},
    403: {"model": ErrorBody, "description": "Admin without two-factor (`mfa_enrolment_required`, `mfa_required`)"},
    404: {"model": ErrorBody, "description": "Not an admin, or no such account"},
}
REFUSED = {409: {"model": ErrorBody, "description": "Not possible in the account's state, or on yourself"}}

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["admin"], responses=ERRORS)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Text = Annotated[str | None, Query(max_length=200)]


def _ip(request: Request) -> str:
    return client_info(request)[1]


@router.get("/admin/users", response_model=Page[UserRow], summary="List and search accounts")
async def list_users(
    db: DB,
    admin: AdminUser,
    q: Text = None,
    status: Status | None = None,
    role: Role | None = None,
    cursor: Text = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[UserRow]:
    """`q` matches username, display name or email; usernames also by trigram similarity."""
    return await service.list_users(db, q=q, status=status, role=role, cursor=cursor, limit=limit)


@router.get("/admin/users/{user_id}", response_model=UserRow, summary="One account")
async def get_user(user_id: uuid.UUID, db: DB, admin: AdminUser) -> UserRow:
    return await service.get_user(db, user_id)


@router.post("/admin/users/{user_id}/suspend", response_model=UserRow, summary="Suspend an account", responses=REFUSED)
async def suspend(user_id: uuid.UUID, body: SuspendIn, request: Request, db: DB, admin: AdminUser) -> UserRow:
    """Signs the account out everywhere and emails the person the reason."""
    return await service.suspend(db, admin.user, user_id, body.reason, ip=_ip(request))


@router.post(
    "/admin/users/{user_id}/reactivate", response_model=UserRow, summary="Lift a suspension", responses=REFUSED
)
async def reactivate(user_id: uuid.UUID, request: Request, db: DB, admin: AdminUser) -> UserRow:
    return await service.reactivate(db, admin.user, user_id, ip=_ip(request))


@router.put(
    "/admin/users/{user_id}/roles", response_model=UserRow, summary="Replace an account's roles", responses=REFUSED
)
async def set_roles(user_id: uuid.UUID, body: RolesIn, request: Request, db: DB, admin: AdminUser) -> UserRow:
    return await service.set_roles(db, admin.user, user_id, list(body.roles), ip=_ip(request))


@router.get("/admin/audit", response_model=Page[AuditRow], summary="The audit log")
async def audit(
    db: DB,
    admin: AdminUser,
    actor: Text = None,
    target: Text = None,
    action: Text = None,
    cursor: Text = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[AuditRow]:
    """`actor` and `target` take a username or id; `action` an action name or prefix (e.g. `admin`)."""
    return await service.audit_page(db, actor=actor, target=target, action=action, cursor=cursor, limit=limit)
