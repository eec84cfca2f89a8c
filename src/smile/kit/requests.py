"""Per-request database session and CSRF protection."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Header, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from smile.kit import runtime
from smile.kit.errors import AppError, Forbidden
from smile.kit.security import new_token, tokens_equal

CSRF_COOKIE = "smile_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
# The one declaration of the Idempotency-Key header of money-moving routes: a retry with the same key does it once.
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=8, max_length=100,
                                              description="Retries with the same key do it once (8-100 characters).")]


class DBRoute(APIRoute):
    """Commits the request's session before the response is sent; rolls back on error.

    An AppError with persist=True still commits (e.g. a counted failed attempt).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except AppError as exc:
                await _finish(request, commit=getattr(exc, "persist", False))
                raise
            except BaseException:
                await _finish(request, commit=False)
                raise
            await _finish(request, commit=True)
            return response

        return run


def request_state(request: Request) -> dict[str, Any]:
    """The per-request dict behind `request.state` (shared by every Request object of one request)."""
    return request.scope.setdefault("state", {})


async def _finish(request: Request, commit: bool) -> None:
    session: AsyncSession | None = request_state(request).pop("db", None)
    if session is None:
        return
    try:
        if commit:
            await session.commit()
        else:
            # Detach first: a rollback would expire the loaded objects (e.g. the signed-in user)
            # that the error page still renders.
            session.expunge_all()
            await session.rollback()
    finally:
        await session.close()


async def get_session(request: Request) -> AsyncSession:
    session = request_state(request).get("db")
    if session is None:
        session = runtime.current().db.sessions()
        request.state.db = session
    return session


def csrf_token(request: Request) -> str:
    """The CSRF token for this browser (double-submit cookie), creating one if needed."""
    token = request.cookies.get(CSRF_COOKIE) or request_state(request).get("new_csrf")
    if not token:
        token = new_token(24)
        request.state.new_csrf = token
    return token


def set_csrf_cookie(request: Request, response: Response) -> None:
    token = request_state(request).get("new_csrf")
    if token:
        response.set_cookie(CSRF_COOKIE, token, httponly=False, samesite="lax",
                            secure=request.url.scheme == "https", max_age=60 * 60 * 24 * 365)


async def check_csrf(request: Request) -> None:
    """Unsafe requests authenticated by cookie must echo the CSRF cookie in a header or form field."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    if not cookie or not sent or not tokens_equal(cookie, sent):
        raise Forbidden("The form has expired or did not come from this site (CSRF check failed). "
                        "Reload the page and try again.", code="csrf_failed")
