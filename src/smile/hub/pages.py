"""hub: HTML pages — API keys (create with the secret shown once, list, revoke)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from smile.hub import service
from smile.hub.models import SCOPES
from smile.hub.schemas import KeyCreate
from smile.identity.auth import DB, CurrentUser
from smile.identity.sessions import client_info
from smile.kit import runtime
from smile.kit.errors import AppError
from smile.kit.pagination import decode_cursor
from smile.kit.requests import DBRoute
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)

PAGE_SIZE = 50
EXPIRY_DAYS = {"": "Never", "7": "7 days", "30": "30 days", "90": "90 days", "365": "1 year"}
SCOPE_HELP = {
    "chat": "Chat completions",
    "embeddings": "Embeddings",
    "models": "List models",
    "usage": "Read usage and balance",
    "mcp": "MCP server tools",
}
NO_STORE = {"Cache-Control": "no-store"}


def _form_context(values: dict | None = None, errors: dict | None = None, error: str = "") -> dict:
    values = values or {"scopes": list(SCOPES), "expires": "90"}
    return {
        "values": values,
        "errors": errors or {},
        "error": error,
        "scope_help": SCOPE_HELP,
        "expiry_days": EXPIRY_DAYS,
    }


@router.get("/hub/keys", response_class=HTMLResponse)
async def keys_page(request: Request, me: CurrentUser, db: DB, cursor: str | None = None) -> HTMLResponse:
    if cursor:
        decode_cursor(cursor)  # a bad cursor is a 422, not a 500
    items, next_cursor = await service.list_keys(db, me.id, cursor, PAGE_SIZE)
    return render(
        request,
        "hub/keys.html",
        {"keys": items, "more_url": f"/hub/keys?cursor={next_cursor}" if next_cursor else None, **_form_context()},
    )


def _values(form) -> dict:
    expires = str(form.get("expires") or "")
    return {
        "name": str(form.get("name") or "")[:200],
        "scopes": [s for s in form.getlist("scopes") if isinstance(s, str)],
        "allowed_models": str(form.get("allowed_models") or "")[:5000],
        "credit_limit": str(form.get("credit_limit") or "").strip()[:20],
        "expires": expires if expires in EXPIRY_DAYS else "",
    }


def _data(values: dict) -> KeyCreate:
    expires_at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=int(values["expires"]))) if values["expires"] else None
    return KeyCreate(
        name=values["name"],
        scopes=values["scopes"],
        allowed_models=[m for m in re.split(r"[\s,]+", values["allowed_models"]) if m],
        credit_limit=values["credit_limit"] or None,
        expires_at=expires_at,
    )


def _errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err.get("loc") else "name"
        message = err.get("msg", "invalid").removeprefix("Value error, ")
        if field == "scopes" and err.get("type") == "too_short":
            message = "Pick at least one scope."
        elif field == "allowed_models":
            message = "Model ids are letters, digits and . _ : / @ + - (up to 100 characters), at most 50."
        errors.setdefault(field, message)
    return errors


@router.post("/hub/keys", response_class=HTMLResponse)
async def create_key(request: Request, me: CurrentUser, db: DB) -> Response:
    """HTMX: answers the dialog's content (the new secret, or the form with its errors)."""
    partial = bool(request.headers.get("hx-request"))
    values = _values(await request.form())
    errors, error, created = {}, "", None
    try:
        data = _data(values)
        if not me.user.email_verified:
            raise AppError("Verify your email address before creating API keys.", status=403)
        settings = runtime.current().settings
        await runtime.current().limiter.hit(
            settings.rate_hub_key_create, "hub-key-create", str(me.id), message="You are creating API keys too quickly."
        )
        created = await service.create_key(db, me.user, data, client_info(request)[1])
    except ValidationError as exc:
        errors = _errors(exc)
    except AppError as exc:
        error = exc.message
    if created is not None:
        context = {"created": created}
        if partial:
            return render(request, "hub/_key_created.html", context, headers=NO_STORE)
        items, _ = await service.list_keys(db, me.id, None, PAGE_SIZE)
        return render(
            request, "hub/keys.html", {**context, **_form_context(), "keys": items, "more_url": None}, headers=NO_STORE
        )
    context = _form_context(values, errors, error)
    if partial:
        return render(request, "hub/_key_form.html", context)
    items, _ = await service.list_keys(db, me.id, None, PAGE_SIZE)
    return render(request, "hub/keys.html", {**context, "keys": items, "more_url": None, "open_form": True}, status=422)


@router.post("/hub/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: uuid.UUID, me: CurrentUser, db: DB) -> Response:
    key = await service.revoke_key(db, me.user, key_id, client_info(request)[1])
    flash(request, f"Revoked “{key.name}” ({key.hint}). Requests with it are refused from now on.", "success")
    return redirect("/hub/keys", request)
