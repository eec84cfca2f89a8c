"""Signed-in sessions: API token families with rotating refresh tokens, and browser cookies."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import Request, Response
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.auth import SESSION_COOKIE
from smile.identity.models import AuthSession, RefreshToken, User
from smile.identity.schemas import Me, Tokens
from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.errors import Unauthorized
from smile.kit.security import encode_jwt, hash_token, new_token


def client_info(request: Request) -> tuple[str, str]:
    ip = request.client.host if request.client else ""
    return request.headers.get("user-agent", "")[:300], ip


def _secret() -> str:
    return runtime.current().settings.secret_key


async def _new_refresh(db: AsyncSession, session_id: uuid.UUID) -> str:
    token = new_token()
    db.add(RefreshToken(session_id=session_id, token_hash=hash_token(token, _secret())))
    await db.flush()
    return token


def _access(user: User, session: AuthSession) -> tuple[str, int]:
    minutes = runtime.current().settings.access_token_minutes
    token = encode_jwt({"typ": "access", "sub": str(user.id), "sid": str(session.id)}, _secret(), minutes)
    return token, minutes * 60


async def issue_api_session(db: AsyncSession, user: User, request: Request, mfa: bool = False) -> Tokens:
    settings = runtime.current().settings
    agent, ip = client_info(request)
    session = AuthSession(
        user_id=user.id,
        kind="api",
        user_agent=agent,
        ip=ip,
        expires_at=utcnow() + dt.timedelta(days=settings.refresh_token_days),
        mfa_at=utcnow() if mfa else None,
    )
    db.add(session)
    user.last_login_at = utcnow()
    await db.flush()
    refresh = await _new_refresh(db, session.id)
    access, expires = _access(user, session)
    return Tokens(access_token=access, refresh_token=refresh, expires_in=expires, user=Me.of(user))


async def issue_browser_session(
    db: AsyncSession, user: User, request: Request, response: Response, mfa: bool = False
) -> AuthSession:
    settings = runtime.current().settings
    agent, ip = client_info(request)
    cookie = new_token()
    session = AuthSession(
        user_id=user.id,
        kind="browser",
        cookie_hash=hash_token(cookie, _secret()),
        user_agent=agent,
        ip=ip,
        mfa_at=utcnow() if mfa else None,
        expires_at=utcnow() + dt.timedelta(days=settings.session_days),
    )
    db.add(session)
    user.last_login_at = utcnow()
    await db.flush()
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        path="/",
        secure=settings.base_url.startswith("https"),
        max_age=settings.session_days * 86400,
    )
    return session


async def rotate(db: AsyncSession, refresh_token: str) -> Tokens:
    """Exchange a refresh token for a new pair. Reusing a spent token revokes the whole family."""
    token_hash = hash_token(refresh_token, _secret())
    row = (
        await db.execute(
            select(RefreshToken, AuthSession, User)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .join(User, User.id == AuthSession.user_id)
            .where(RefreshToken.token_hash == token_hash)
            .with_for_update(of=RefreshToken)
        )
    ).first()
    if row is None:
        raise Unauthorized("The refresh token is not valid. Log in again.")
    token, session, user = row
    if session.revoked_at is not None or session.expires_at <= utcnow():
        raise Unauthorized("This session has ended. Log in again.")
    if user.status in ("suspended", "deleted"):
        raise Unauthorized("This account cannot sign in.")
    claimed = await db.execute(
        update(RefreshToken).where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None)).values(used_at=utcnow())
    )
    if claimed.rowcount != 1:
        await revoke(db, session.id, reason="refresh_reuse")
        raise Unauthorized(
            "This refresh token was already used, so the session has been signed out "
            "everywhere it was used. Log in again.",
            code="refresh_reused",
            persist=True,
        )
    session.last_seen_at = utcnow()
    new_refresh = await _new_refresh(db, session.id)
    access, expires = _access(user, session)
    return Tokens(access_token=access, refresh_token=new_refresh, expires_in=expires, user=Me.of(user))


async def revoke(db: AsyncSession, session_id: uuid.UUID, reason: str = "logout") -> None:
    await db.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


async def revoke_all(
    db: AsyncSession, user_id: uuid.UUID, except_id: uuid.UUID | None = None, reason: str = "signed_out_elsewhere"
) -> int:
    stmt = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if except_id is not None:
        stmt = stmt.where(AuthSession.id != except_id)
    result = await db.execute(stmt.values(revoked_at=utcnow(), revoked_reason=reason))
    return result.rowcount


async def list_active(db: AsyncSession, user_id: uuid.UUID) -> list[AuthSession]:
    return list(
        (
            await db.scalars(
                select(AuthSession)
                .where(
                    AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None), AuthSession.expires_at > utcnow()
                )
                .order_by(AuthSession.id.desc())
            )
        ).all()
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


MFA_CHALLENGE_MINUTES = 5


def mfa_challenge_token(user: User) -> str:
    """A short-lived token proving the password step passed; exchanged with a code at /auth/login/mfa."""
    return encode_jwt({"typ": "mfa", "sub": str(user.id)}, _secret(), MFA_CHALLENGE_MINUTES)


def read_mfa_challenge(token: str) -> uuid.UUID:
    from smile.kit.security import decode_jwt

    claims = decode_jwt(token, _secret(), "mfa")
    if not claims:
        raise Unauthorized("The sign-in step expired. Enter your password again.", code="mfa_token_invalid")
    return uuid.UUID(claims["sub"])
