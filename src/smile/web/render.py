"""Template rendering for HTML pages (Jinja2 + HTMX)."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from smile import __version__
from smile.kit.errors import AppError
from smile.kit.money import money
from smile.kit.requests import csrf_token, set_csrf_cookie

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["version"] = __version__
templates.env.globals["money"] = money  # {{ money(amount, currency) }}, or the filter {{ amount|money(currency) }}
templates.env.filters["money"] = money


def flash(request: Request, message: str, kind: str = "info") -> None:
    """Queue a message shown once on the next rendered page."""
    # Assign (not append in place): the session only saves itself when an item is set.
    request.session["flash"] = [*request.session.get("flash", []), {"kind": kind, "message": message}]


def _pop_flashes(request: Request) -> list[dict[str, str]]:
    if "session" not in request.scope:
        return []
    return request.session.pop("flash", [])


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    ctx = {
        "request": request,
        "me": principal.user if principal else None,
        "csrf_token": csrf_token(request),
        "flashes": _pop_flashes(request),
        "settings": _settings(),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status, headers=headers)
    set_csrf_cookie(request, response)
    return response


def redirect(url: str, request: Request | None = None) -> Response:
    """Redirect after a form post; HTMX requests get HX-Redirect instead."""
    if request is not None and request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/login?next={quote(target)}", request)


def error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if status == 401:
        return login_redirect(request)
    if status == 404 and message in ("Not found.", "Not Found"):
        message = "This page does not exist, or you are not allowed to see it."
    titles = {
        403: "Not allowed",
        404: "Page not found",
        429: "Slow down",
        500: "Something went wrong",
        503: "Back in a moment",
    }
    return render(
        request,
        "error.html",
        {"status": status, "title": titles.get(status, "Request failed"), "message": message},
        status=status,
        headers=headers,
    )


def _settings():
    from smile.kit import runtime

    try:
        return runtime.current().settings
    except RuntimeError:
        return None


async def attempt(request: Request, db, action: Awaitable, done: str, back: str) -> Response:
    """Run a service call from a form inside a savepoint: a refusal undoes it and comes back as a flash."""
    try:
        async with db.begin_nested():
            await action
    except AppError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, done, "success")
    return redirect(back, request)
