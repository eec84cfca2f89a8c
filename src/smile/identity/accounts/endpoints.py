"""JSON API for sign-up, sign-in, sessions and passwords."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from smile.identity.accounts import service
from smile.identity.accounts.schemas import (
    LoginIn,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RefreshIn,
    RegisterIn,
    Revoked,
    SessionOut,
    VerifyEmailIn,
)
from smile.identity.auth import DB, CurrentUser
from smile.identity.schemas import Me, Message, MfaChallenge, Tokens
from smile.identity.sessions import client_info
from smile.kit.errors import responses
from smile.kit.requests import DBRoute

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["auth"])


def _ip(request: Request) -> str:
    return client_info(request)[1]


@router.post("/auth/register", response_model=Me, status_code=201, responses=responses(409, 422, 429))
async def register(body: RegisterIn, request: Request, db: DB) -> Me:
    """Create a person or business account and email a 6-digit verification code."""
    return Me.of(await service.register(db, body, _ip(request)))


@router.post("/auth/verify-email", response_model=Me, responses=responses(401, 409, 422, 429))
async def verify_email(body: VerifyEmailIn, me: CurrentUser, db: DB) -> Me:
    """Confirm the email address with the emailed code (15 minutes, 5 tries per code)."""
    return Me.of(await service.verify_email(db, me.user, body.code))


@router.post("/auth/verify-email/resend", response_model=Message, status_code=202, responses=responses(401, 409, 429))
async def resend_code(me: CurrentUser, db: DB) -> Message:
    """Email a new code (at most one a minute); earlier codes stop working."""
    await service.resend_code(db, me.user)
    return Message(detail=f"We sent a new code to {me.user.email}.")


@router.post("/auth/login", response_model=Tokens | MfaChallenge, responses=responses(401, 403, 429))
async def login(body: LoginIn, request: Request, db: DB) -> Tokens | MfaChallenge:
    """Sign in with email or username. With two-factor on, answers an MFA challenge to complete at
    `/auth/login/mfa`."""
    return await service.login(db, body, request)


@router.post("/auth/refresh", response_model=Tokens, responses=responses(401))
async def refresh(body: RefreshIn, db: DB) -> Tokens:
    """Exchange a refresh token for a new pair. Reusing a spent token signs the whole session out."""
    return await service.refresh(db, body.refresh_token)


@router.post("/auth/logout", status_code=204, response_class=Response, responses=responses(401))
async def logout(me: CurrentUser, request: Request, db: DB) -> Response:
    """Sign out this session."""
    await service.logout(db, me, _ip(request))
    return Response(status_code=204)


@router.get("/auth/sessions", response_model=list[SessionOut], responses=responses(401))
async def list_sessions(me: CurrentUser, db: DB) -> list[SessionOut]:
    """Signed-in devices, newest first; `current` marks this one."""
    return await service.list_sessions(db, me)


@router.delete("/auth/sessions/{session_id}", status_code=204, response_class=Response, responses=responses(401, 404))
async def revoke_session(session_id: uuid.UUID, me: CurrentUser, request: Request, db: DB) -> Response:
    """Sign out one of your sessions."""
    await service.revoke_session(db, me, session_id, _ip(request))
    return Response(status_code=204)


@router.post("/auth/sessions/revoke-others", response_model=Revoked, responses=responses(401))
async def revoke_others(me: CurrentUser, request: Request, db: DB) -> Revoked:
    """Sign out every other device and revoke every API key."""
    return await service.revoke_other_sessions(db, me, _ip(request))


@router.post("/auth/password-reset", response_model=Message, status_code=202, responses=responses(422, 429))
async def password_reset(body: PasswordResetIn, request: Request, db: DB) -> Message:
    """Email a single-use reset link if an account uses this address (the answer is the same either way)."""
    await service.request_password_reset(db, str(body.email), _ip(request))
    return Message(detail="If an account uses this address, we emailed it a link to reset the password.")


@router.post("/auth/password-reset/confirm", response_model=Message, responses=responses(422))
async def password_reset_confirm(body: PasswordResetConfirmIn, request: Request, db: DB) -> Message:
    """Set a new password with the emailed token; signs out every session."""
    await service.confirm_password_reset(db, body, _ip(request))
    return Message(detail="Your password has been changed. Log in with the new one.")


@router.post("/auth/password", response_model=Message, responses=responses(401, 422, 429))
async def change_password(body: PasswordChangeIn, me: CurrentUser, request: Request, db: DB) -> Message:
    """Change the password; signs out every other session."""
    count = await service.change_password(db, me, body, _ip(request))
    return Message(detail=f"Your password has been changed and {count} other session(s) were signed out.")
