"""Per-request database session, the request body limit and CSRF protection."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Header, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smile.kit import runtime
from smile.kit.errors import AppError, Forbidden
from smile.kit.security import new_token, tokens_equal

CSRF_COOKIE = "smile_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
# The one declaration of the Idempotency-Key header of money-moving routes: a retry with the same key does it once.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=100,
        description="Retries with the same key do it once (8-100 characters).",
    ),
]
FORM_OVERHEAD = 64 * 1024  # multipart headers, boundaries and small text fields around the largest file


def body_limit() -> int:
    """The largest request body: the largest upload (SMILE_MEDIA_MAX_BYTES) plus form overhead."""
    return runtime.current().settings.media_max_bytes + FORM_OVERHEAD


def _too_large() -> HTTPException:
    megabytes = runtime.current().settings.media_max_bytes // (1024 * 1024) or 1
    return HTTPException(413, f"The request is larger than the upload limit ({megabytes} MB). Send a smaller file.")


class BodyLimit:
    """ASGI middleware: no request body is read past `body_limit()`.

    It applies before anything parses a body (the CSRF check reading a cookie-authenticated
    form, FastAPI's form and JSON parsing, the streaming upload parser): with a declared
    Content-Length over the limit the first read fails, nothing read; a chunked body fails as
    soon as its count passes the limit. The 413 is an HTTPException so that FastAPI's body
    parsing passes it on to the one error handler.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit()
        declared = Headers(scope=scope).get("content-length", "")
        counted = not declared.isdigit()  # chunked: count what arrives
        seen = 0 if counted else int(declared)

        async def limited() -> Message:
            nonlocal seen
            if seen > limit:
                raise _too_large()
            message = await receive()
            if counted and message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _too_large()
            return message

        await self.app(scope, limited, send)


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


class TextRequest(Request):
    """A request whose JSON body and form fields hold no NUL character.

    PostgreSQL cannot store NUL in text (psycopg refuses it: a 500), and it means nothing in
    text a person typed; it is removed before any schema sees the value.
    """

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = _without_nul(await super().json())
        return self._json

    async def _get_form(self, **limits: Any) -> FormData:
        if self._form is None:
            form = await super()._get_form(**limits)
            self._form = FormData([(k, _without_nul(v) if isinstance(v, str) else v) for k, v in form.multi_items()])
        return self._form


class DBRoute(APIRoute):
    """Commits the request's session before the response is sent; rolls back on error.

    An AppError with persist=True still commits (e.g. a counted failed attempt). The request
    is a TextRequest (no NUL in JSON or form text).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            request = TextRequest(request.scope, request.receive)
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
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=False,
            samesite="lax",
            secure=request.url.scheme == "https",
            max_age=60 * 60 * 24 * 365,
        )


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
        raise Forbidden(
            "The form has expired or did not come from this site (CSRF check failed). Reload the page and try again.",
            code="csrf_failed",
        )
