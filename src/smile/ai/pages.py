"""AI: admin HTML pages — the model catalog (prices, context windows, fallbacks, enabled), list, edit, add."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from smile.ai import catalog
from smile.ai.providers import registry
from smile.ai.schemas import ALIAS, ModelCreate, ModelUpdate
from smile.identity import audit
from smile.identity.auth import DB, AdminUser
from smile.identity.sessions import client_info
from smile.kit import runtime
from smile.kit.errors import AppError, NotFound
from smile.kit.requests import DBRoute
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)

BASE = "/admin/ai/models"
NUMBERS = ("input_credits_per_m", "output_credits_per_m", "cached_credits_per_m", "context_window")
TEXTS = ("id", "provider", "upstream_model", "fallbacks")


async def _models(db) -> list[catalog.Model]:
    return await catalog.models(db, runtime.current().settings)


def _values(form) -> dict:
    values = {name: str(form.get(name) or "").strip()[:2000] for name in (*TEXTS, *NUMBERS)}
    values["enabled"] = form.get("enabled") == "on"
    return values


def _data(values: dict, schema: type[BaseModel]) -> BaseModel:
    data = {name: values[name] for name in NUMBERS if values[name] != ""}
    data.update({name: values[name] for name in ("id", "provider", "upstream_model") if values[name]})
    data["fallbacks"] = [f for f in re.split(r"[\s,]+", values["fallbacks"]) if f]
    data["enabled"] = values["enabled"]
    return schema.model_validate(data)


def _errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err.get("loc") else "id"
        errors.setdefault(field, err.get("msg", "invalid").removeprefix("Value error, "))
    return errors


def _form_values(model: catalog.Model) -> dict:
    return {
        "id": model.id,
        "provider": model.provider,
        "upstream_model": model.upstream_model,
        "input_credits_per_m": model.input_credits_per_m,
        "output_credits_per_m": model.output_credits_per_m,
        "cached_credits_per_m": model.cached_credits_per_m,
        "context_window": model.context_window,
        "enabled": model.enabled,
        "fallbacks": ", ".join(model.fallbacks),
    }


def _list_context(
    models: list[catalog.Model], values: dict | None = None, errors: dict | None = None, error: str = ""
) -> dict:
    providers = sorted(registry(runtime.current().settings))
    blank = {
        "provider": providers[0] if providers else "",
        "context_window": 8192,
        "cached_credits_per_m": 0,
        "enabled": True,
    }
    return {
        "models": models,
        "providers": providers,
        "values": values or blank,
        "errors": errors or {},
        "error": error,
        "open_form": bool(errors or error),
    }


@router.get(BASE, response_class=HTMLResponse)
async def models_page(request: Request, admin: AdminUser, db: DB) -> HTMLResponse:
    return render(request, "ai/models.html", _list_context(await _models(db)))


@router.post(BASE, response_class=HTMLResponse)
async def add_model(request: Request, admin: AdminUser, db: DB) -> Response:
    values = _values(await request.form())
    errors, error = {}, ""
    try:
        data = _data(values, ModelCreate)
        if data.provider not in registry(runtime.current().settings):
            errors["provider"] = f"No provider {data.provider!r} is configured."
        else:
            model = await catalog.create(db, data.model_dump())
            await audit.record(
                db,
                admin.user.id,
                "ai.model_created",
                model.id,
                target_type="ai_model",
                ip=client_info(request)[1],
                **_form_values(model),
            )
            flash(request, f"Added model “{model.id}”.", "success")
            return redirect(BASE, request)
    except ValidationError as exc:
        errors = _errors(exc)
    except AppError as exc:
        errors, error = {name: exc.message for name in exc.fields}, exc.message
    return render(request, "ai/models.html", _list_context(await _models(db), values, errors, error), status=422)


async def _get(db, alias: str) -> catalog.Model:
    found = next((m for m in await _models(db) if m.id == alias), None) if re.match(ALIAS, alias) else None
    if found is None:
        raise NotFound(f"No model {alias!r}.")
    return found


@router.get(BASE + "/{alias:path}", response_class=HTMLResponse)
async def edit_page(alias: str, request: Request, admin: AdminUser, db: DB) -> HTMLResponse:
    model = await _get(db, alias)
    return render(
        request,
        "ai/model_edit.html",
        {
            "model": model,
            "values": _form_values(model),
            "errors": {},
            "error": "",
            "others": [m.id for m in await _models(db) if m.id != alias],
        },
    )


@router.post(BASE + "/{alias:path}", response_class=HTMLResponse)
async def update_model(alias: str, request: Request, admin: AdminUser, db: DB) -> Response:
    model = await _get(db, alias)
    values = {**_values(await request.form()), "id": model.id, "provider": model.provider}
    errors, error = {}, ""
    try:
        changes = _data(values, ModelUpdate).model_dump(exclude_none=True)
        updated = await catalog.update(db, alias, changes)
        await audit.record(
            db,
            admin.user.id,
            "ai.model_updated",
            alias,
            target_type="ai_model",
            ip=client_info(request)[1],
            **_form_values(updated),
        )
        flash(request, f"Saved “{alias}”. New requests use these prices and fallbacks.", "success")
        return redirect(BASE, request)
    except ValidationError as exc:
        errors = _errors(exc)
    except AppError as exc:
        errors, error = {name: exc.message for name in exc.fields}, exc.message
    others = [m.id for m in await _models(db) if m.id != alias]
    return render(
        request,
        "ai/model_edit.html",
        {"model": model, "values": values, "errors": errors, "error": error, "others": others},
        status=422,
    )
