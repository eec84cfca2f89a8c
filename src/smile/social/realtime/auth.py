"""Who is on the other end of a WebSocket: an access token in a header, or the browser session cookie.

DBRoute and the HTTP auth dependencies do not apply to WebSockets, so this resolves the
user with the same rules as smile.identity.auth: a valid, unrevoked session of an active
account. The access token travels in a header, never in the URL (URLs end up in access logs
and proxies): `Sec-WebSocket-Protocol: smile.v1, bearer.<token>` (what a browser-style client
can set) or `Authorization: Bearer <token>`. A cookie is only accepted from a page of this site
(Origin check), which stops cross-site WebSocket hijacking.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlparse

from fastapi import WebSocket
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.auth import SESSION_COOKIE
from smile.identity.models import AuthSession, User
from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.security import decode_jwt, hash_token

PROTOCOL = "smile.v1"
BEARER_PROTOCOL = "bearer."


def same_origin(ws: WebSocket) -> bool:
    origin = ws.headers.get("origin")
    if not origin:
        return False
    netloc = urlparse(origin).netloc.lower()
    base = urlparse(runtime.current().settings.base_url).netloc.lower()
    return netloc in {ws.headers.get("host", "").lower(), base}


def header_token(ws: WebSocket) -> str | None:
    """The access token from `Sec-WebSocket-Protocol: bearer.<token>` or `Authorization: Bearer <token>`."""
    for protocol in ws.scope.get("subprotocols", ()):
        if protocol.startswith(BEARER_PROTOCOL):
            return protocol.removeprefix(BEARER_PROTOCOL)
    scheme, _, credentials = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def subprotocol(ws: WebSocket) -> str | None:
    """The subprotocol to answer with: smile.v1 when the client offered it (never the token)."""
    return PROTOCOL if PROTOCOL in ws.scope.get("subprotocols", ()) else None


async def websocket_user(ws: WebSocket, db: AsyncSession) -> User | None:
    """The signed-in user, or None (missing, invalid or expired credentials, or a foreign Origin)."""
    secret = runtime.current().settings.secret_key
    where = [AuthSession.revoked_at.is_(None), AuthSession.expires_at > utcnow(), User.status == "active"]
    if access_token := header_token(ws):
        claims = decode_jwt(access_token, secret, "access")
        try:
            sid, uid = uuid.UUID(claims["sid"]), uuid.UUID(claims["sub"])
        except (TypeError, KeyError, ValueError):
            return None
        where += [AuthSession.id == sid, User.id == uid]
    elif (cookie := ws.cookies.get(SESSION_COOKIE)) and same_origin(ws):
        where += [AuthSession.cookie_hash == hash_token(cookie, secret), AuthSession.kind == "browser"]
    else:
        return None
    return await db.scalar(select(User).join(AuthSession, AuthSession.user_id == User.id).where(*where))
