"""OpenAI's error shape for the key-authenticated routes (/v1/... and the key introspection route).

Any AppError raised by a route using `OpenAIRoute` (its dependencies included) is answered as
{"error": {"message", "type", "param", "code"}}; invalid input is a 400 `invalid_request_error`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from smile.kit.errors import HTTP_CODES, AppError, validation_fields
from smile.kit.requests import DBRoute

TYPES = {
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


class OpenAIError(AppError):
    """An AppError that also names its OpenAI error `type` and the request `param` at fault."""

    def __init__(
        self,
        message: str,
        status: int,
        code: str,
        type: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, headers=headers)
        self.openai_type = type
        self.param = param


def error_type(status: int) -> str:
    return TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def openai_error(
    status: int,
    message: str,
    code: str | None,
    type: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": type or error_type(status), "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def from_app_error(exc: AppError) -> JSONResponse:
    param = getattr(exc, "param", None) or next(iter(exc.fields), None)
    return openai_error(exc.status, exc.message, exc.code, getattr(exc, "openai_type", None), param, exc.headers)


class OpenAIRoute(DBRoute):
    """DBRoute (one committed session per request) whose errors use OpenAI's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except AppError as exc:
                return from_app_error(exc)
            except RequestValidationError as exc:
                if any(err.get("type") == "json_invalid" for err in exc.errors()):
                    return openai_error(400, "We could not parse the JSON body of your request.", "invalid_json")
                fields = validation_fields(exc)
                summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
                return openai_error(
                    400, f"Invalid request. {summary}", "invalid_request", param=next(iter(fields), None)
                )
            except StarletteHTTPException as exc:
                message = exc.detail if isinstance(exc.detail, str) else "Request failed."
                return openai_error(
                    exc.status_code, message, HTTP_CODES.get(exc.status_code), headers=getattr(exc, "headers", None)
                )

        return run


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorBody(BaseModel):
    """Errors of the key-authenticated routes, as OpenAI sends them."""

    error: OpenAIErrorDetail


_DESCRIPTIONS = {
    400: "Invalid request; `param` names the field",
    401: "Missing, invalid, expired or revoked API key",
    402: "Not enough credits, or the key's credit limit is reached",
    403: "The key lacks the scope, or may not use this model",
    404: "No such resource",
    429: "Rate limited (requests or tokens per minute); see Retry-After",
}


def openai_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": OpenAIErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses}
