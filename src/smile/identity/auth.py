"""Typed auth dependencies: who is calling, by bearer JWT (API) or session cookie (browser)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import AuthSession, User
from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.errors import AppError, Forbidden, Unauthorized
from smile.kit.requests import check_csrf, get_session
from smile.kit.security import decode_jwt, hash_token

SESSION_COOKIE = "smile_session"


@dataclass
class Principal:
    user: User
    session: AuthSession
    via: str  # "bearer" | "cookie"

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    def mfa_is_recent(self, minutes: int) -> bool:
        at = self.session.mfa_at
        return at is not None and utcnow() - at <= dt.timedelta(minutes=minutes)


async def _load(db: AsyncSession, *where) -> tuple[User, AuthSession] | None:
    row = (
        await db.execute(
            select(User, AuthSession)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(*where, AuthSession.revoked_at.is_(None), AuthSession.expires_at > utcnow())
        )
    ).first()
    return (row[0], row[1]) if row else None


async def resolve(request: Request, db: AsyncSession) -> Principal | None:
    """The caller, or None when no credentials were sent. Bad credentials raise 401."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    secret = runtime.current().settings.secret_key
    principal = None
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        claims = decode_jwt(header[7:].strip(), secret, "access")
        if not claims:
            raise Unauthorized("The access token is invalid or expired. Refresh it or log in again.")
        try:
            sid, uid = uuid.UUID(claims["sid"]), uuid.UUID(claims["sub"])
        except (KeyError, ValueError):
            raise Unauthorized("The access token is malformed.") from None
        found = await _load(db, AuthSession.id == sid, User.id == uid)
        if not found:
            raise Unauthorized("This session has ended. Log in again.")
        principal = Principal(found[0], found[1], "bearer")
    elif cookie := request.cookies.get(SESSION_COOKIE):
        found = await _load(db, AuthSession.cookie_hash == hash_token(cookie, secret), AuthSession.kind == "browser")
        if found:
            await check_csrf(request)
            principal = Principal(found[0], found[1], "cookie")
    if principal is not None:
        if principal.user.status == "suspended":
            raise Forbidden(
                "This account is suspended. Contact support if you think this is a mistake.", code="suspended"
            )
        if principal.user.status == "deleted":
            raise Unauthorized("This account has been deleted.")
    request.state.principal = principal
    return principal


async def optional_user(request: Request, db: AsyncSession = Depends(get_session)) -> Principal | None:
    return await resolve(request, db)


async def current_user(request: Request, db: AsyncSession = Depends(get_session)) -> Principal:
    principal = await resolve(request, db)
    if principal is None:
        raise Unauthorized()
    return principal


async def verified_user(principal: Principal = Depends(current_user)) -> Principal:
    if not principal.user.email_verified:
        raise Forbidden("Verify your email address first: enter the 6-digit code we sent you.", code="email_unverified")
    return principal


async def admin_user(principal: Principal = Depends(current_user)) -> Principal:
    if not principal.user.is_admin:
        raise AppError("Not found.", status=404, code="not_found")
    if not principal.user.mfa_enabled:
        raise Forbidden(
            "Admins must turn on two-factor authentication before using admin tools.", code="mfa_enrolment_required"
        )
    if principal.session.mfa_at is None:
        raise Forbidden("Sign in with your two-factor code to use admin tools.", code="mfa_required")
    return principal


async def require_recent_mfa(principal: Principal = Depends(current_user)) -> Principal:
    """For money operations: a two-factor check within the last few minutes."""
    minutes = runtime.current().settings.recent_mfa_minutes
    if not principal.user.mfa_enabled:
        raise Forbidden("Turn on two-factor authentication to do this.", code="mfa_enrolment_required")
    if not principal.mfa_is_recent(minutes):
        raise Forbidden(
            f"Confirm your two-factor code (POST /api/v1/auth/mfa/confirm); "
            f"this action needs one from the last {minutes} minutes.",
            code="mfa_required",
        )
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]
VerifiedUser = Annotated[Principal, Depends(verified_user)]
AdminUser = Annotated[Principal, Depends(admin_user)]
RecentMfaUser = Annotated[Principal, Depends(require_recent_mfa)]
DB = Annotated[AsyncSession, Depends(get_session)]
