"""The security settings page: two-factor authentication and linked sign-in providers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from smile.identity.auth import DB, OptionalUser, Principal
from smile.identity.mfa import service
from smile.identity.oauth import client as oauth_client
from smile.identity.oauth import service as oauth_service
from smile.identity.sessions import client_info
from smile.kit import runtime
from smile.kit.errors import AppError
from smile.kit.requests import DBRoute
from smile.web.render import flash, login_redirect, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)
PAGE = "/settings/security"
Code = Annotated[str, Form(max_length=64)]


async def _page(request: Request, db: DB, me: Principal, **extra) -> HTMLResponse:
    identities = await oauth_service.list_identities(db, me.id)
    linked = {i.provider for i in identities}
    return render(
        request,
        "identity/security.html",
        {
            "mfa": await service.status(db, me),
            "pending": service.pending_setup(me.user),
            "identities": identities,
            "link_providers": [p for p in oauth_client.providers() if p.name not in linked],
            "labels": {p.name: p.label for p in oauth_client.providers()},
            "has_password": me.user.password_hash is not None,
            "recent_mfa_minutes": runtime.current().settings.recent_mfa_minutes,
            **extra,
        },
    )


@router.get(PAGE, response_class=HTMLResponse)
async def security_page(request: Request, db: DB, me: OptionalUser) -> Response:
    if me is None:
        return login_redirect(request)
    return await _page(request, db, me)


@router.post(PAGE + "/mfa/setup")
async def setup_form(request: Request, db: DB, me: OptionalUser) -> Response:
    if me is None:
        return login_redirect(request)
    try:
        await service.start_setup(db, me.user)
    except AppError as exc:
        flash(request, exc.message, "error")
    return redirect(PAGE + "#mfa", request)


@router.post(PAGE + "/mfa/enable")
async def enable_form(
    request: Request, db: DB, me: OptionalUser, code: Code = "", password: str = Form(default="", max_length=1024)
) -> Response:
    if me is None:
        return login_redirect(request)
    try:
        codes = await service.enable(db, me, password, code, ip=client_info(request)[1])
    except AppError as exc:
        flash(request, exc.message, "error")
        return redirect(PAGE + "#mfa", request)
    return render(request, "identity/security_recovery.html", {"codes": codes, "just_enabled": True})


@router.post(PAGE + "/mfa/disable")
async def disable_form(
    request: Request, db: DB, me: OptionalUser, code: Code = "", password: str = Form(default="", max_length=1024)
) -> Response:
    if me is None:
        return login_redirect(request)
    try:
        await service.disable(db, me, password, code, ip=client_info(request)[1])
    except AppError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, "Two-factor authentication is off.", "success")
    return redirect(PAGE + "#mfa", request)


@router.post(PAGE + "/mfa/recovery-codes")
async def recovery_form(request: Request, db: DB, me: OptionalUser, code: Code = "") -> Response:
    if me is None:
        return login_redirect(request)
    try:
        codes = await service.regenerate_recovery_codes(db, me, code, ip=client_info(request)[1])
    except AppError as exc:
        flash(request, exc.message, "error")
        return redirect(PAGE + "#mfa", request)
    return render(request, "identity/security_recovery.html", {"codes": codes, "just_enabled": False})


@router.post(PAGE + "/mfa/confirm")
async def confirm_form(request: Request, db: DB, me: OptionalUser, code: Code = "") -> Response:
    if me is None:
        return login_redirect(request)
    try:
        await service.confirm(db, me, code)
    except AppError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, "Code confirmed: this session is verified with two-factor authentication.", "success")
    return redirect(PAGE + "#mfa", request)
