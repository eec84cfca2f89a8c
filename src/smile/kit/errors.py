"""One error type for the whole app, and the handlers that render it."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        status: int | None = None,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        persist: bool = False,
    ) -> None:
        super().__init__(message)
        self.persist = persist  # commit the request's transaction even though it failed
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.fields = fields or {}
        self.headers = headers or {}


class NotFound(AppError):
    status = 404
    code = "not_found"

    def __init__(self, message: str = "Not found.", **kw: Any) -> None:
        super().__init__(message, **kw)


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str = "Authentication required.", **kw: Any) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"}, **kw)


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class Conflict(AppError):
    status = 409
    code = "conflict"


class Invalid(AppError):
    status = 422
    code = "invalid"


class Gone(AppError):
    status = 410
    code = "gone"


class TooLarge(AppError):
    status = 413
    code = "too_large"


class UnsupportedMedia(AppError):
    status = 415
    code = "unsupported_media_type"


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, **kw: Any) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))}, **kw)
        self.retry_after = max(1, retry_after)


def error_body(code: str, detail: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": code, "detail": detail, "fields": fields or {}}


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/v1/")) and "text/html" in request.headers.get("accept", "")


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[-1] if loc else "request")


def validation_fields(exc: RequestValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in exc.errors():
        message = str(err.get("msg", "invalid value"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        fields.setdefault(_field_name(tuple(err.get("loc", ()))), message)
    return fields


async def app_error_handler(request: Request, exc: AppError) -> JSONResponse:
    if wants_html(request):
        from smile.web.render import error_page

        return error_page(request, exc.status, exc.message, headers=exc.headers)
    return JSONResponse(error_body(exc.code, exc.message, exc.fields), status_code=exc.status, headers=exc.headers)


async def validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = validation_fields(exc)
    summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return JSONResponse(error_body("invalid", f"Invalid input. {summary}", fields), status_code=422)


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
    if exc.status_code == 404 and detail == "Not Found":
        detail = "Not found."
    if wants_html(request):
        from smile.web.render import error_page

        return error_page(request, exc.status_code, detail, headers=getattr(exc, "headers", None))
    code = HTTP_CODES.get(exc.status_code, "error")
    return JSONResponse(error_body(code, detail), status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def unhandled_handler(request: Request, exc: Exception) -> JSONResponse:
    import structlog

    if database_unreachable(exc):
        return await database_error_handler(request, exc)
    structlog.get_logger("smile").exception("unhandled_error", path=request.url.path)
    if wants_html(request):
        from smile.web.render import error_page

        return error_page(request, 500, "Something went wrong on our side. It has been logged.")
    return JSONResponse(
        error_body("internal", "Something went wrong on our side. It has been logged."), status_code=500
    )


# --- the database went away -------------------------------------------------------------------------

DATABASE_RETRY_AFTER = 5  # seconds; an embedded server restarts within a few (see kit.embedded.Restarter)
DATABASE_UNAVAILABLE = "The database is unavailable for a moment. Nothing was lost; try again in a few seconds."
# Server-side errors that mean "no usable connection": connection exceptions, shutdowns, starting up.
_CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03")
DATABASE_ERRORS = (sa_exc.DBAPIError, sa_exc.TimeoutError, psycopg.Error)  # handled by database_error_handler


def database_unreachable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the database cannot be reached, as opposed to a statement
    that failed: a lost or refused connection, a server shutting down or starting up, a pool timeout."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sa_exc.TimeoutError) or getattr(exc, "connection_invalidated", False):
            return True
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            state = getattr(exc, "sqlstate", None)  # None: raised by the client (no server reply)
            return state is None or state.startswith(_CONNECTION_SQLSTATES)
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False


async def database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After while the database is unreachable; any other database error is a 500."""
    if not database_unreachable(exc):
        return await unhandled_handler(request, exc)
    import structlog

    structlog.get_logger("smile").warning("database_unavailable", path=request.url.path, error=str(exc)[:300])
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER)}
    if wants_html(request):
        from smile.web.render import error_page

        return error_page(request, 503, DATABASE_UNAVAILABLE, headers=headers)
    return JSONResponse(error_body("database_unavailable", DATABASE_UNAVAILABLE), status_code=503, headers=headers)


class ErrorBody(BaseModel):
    """Every error response: a code, a message a person can act on, and the problem with each field."""

    error: str
    detail: str
    fields: dict[str, str]


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not signed in, or the credentials are wrong",
    403: "Not allowed (e.g. suspended account, two-factor check needed)",
    404: "No such resource, or not yours to see",
    409: "Conflicts with existing data or the resource's state",
    410: "Gone (e.g. an expired link)",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input; `fields` names each problem",
    429: "Rate limited or locked out; see Retry-After",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting these error statuses with the shared error shape."""
    return {status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses}


def document_error_shape(app: FastAPI) -> None:
    """Make OpenAPI describe validation errors as they are sent (ErrorBody), not as FastAPI's default."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorBody", ErrorBody.model_json_schema())
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                response = operation.get("responses", {}).get("422")
                if response and "HTTPValidationError" in json.dumps(response):
                    response["description"] = "Invalid input; `fields` names each problem"
                    response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        if "#/components/schemas/HTTPValidationError" not in json.dumps(schema):
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
