"""HTML pages: sign up, log in (with the two-factor step), verify email, reset and change password,
and the signed-in devices list.

Services raise non-persisted errors before writing anything, so a page can catch an AppError,
show it next to the form, and let the request commit.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from smile.identity import sessions
from smile.identity.accounts import service
from smile.identity.accounts.schemas import PasswordChangeIn, PasswordResetConfirmIn, PasswordResetIn, RegisterIn
from smile.identity.auth import DB, CurrentUser, OptionalUser
from smile.identity.models import User
from smile.kit.errors import AppError, validation_fields
from smile.kit.redirects import safe_next
from smile.kit.requests import DBRoute, check_csrf
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)

MFA_TOKEN, MFA_NEXT = "mfa_token", "mfa_next"


def _ip(request: Request) -> str:
    return sessions.client_info(request)[1]


def _page(
    request: Request, name: str, status: int = 200, headers: dict[str, str] | None = None, **context
) -> HTMLResponse:
    return render(request, name, {"errors": {}, "values": {}, "error": None, **context}, status=status, headers=headers)


def _failed(request: Request, name: str, exc: AppError, **context) -> HTMLResponse:
    return _page(request, name, exc.status, exc.headers, errors=exc.fields, error=exc.message, **context)


def _invalid(request: Request, name: str, exc: ValidationError, **context) -> HTMLResponse:
    fields = validation_fields(exc)  # same shape as a request validation error
    return _page(request, name, 422, errors=fields, error=" ".join(fields.values()), **context)


# Sign up


@router.get("/signup")
async def signup_alias() -> Response:
    """The name people type; the page is /register."""
    return Response(status_code=308, headers={"Location": "/register"})


@router.get("/register", response_class=HTMLResponse)
async def register_form(request: Request, me: OptionalUser) -> Response:
    if me:
        return redirect("/", request)
    return _page(request, "identity/register.html", values={"account_type": "person"})


@router.post("/register", response_class=HTMLResponse)
async def register(
    request: Request,
    db: DB,
    me: OptionalUser,
    email: str = Form(""),
    username: str = Form(""),
    display_name: str = Form(""),
    password: str = Form(""),
    account_type: str = Form("person"),
    date_of_birth: str = Form(""),
    accept_terms: str = Form(""),
) -> Response:
    await check_csrf(request)
    values = {
        "email": email,
        "username": username,
        "display_name": display_name,
        "account_type": account_type,
        "date_of_birth": date_of_birth,
        "accept_terms": bool(accept_terms),
    }
    try:
        body = RegisterIn(
            email=email,
            username=username,
            display_name=display_name,
            password=password,
            account_type=account_type,
            date_of_birth=date_of_birth or None,
            accept_terms=bool(accept_terms),
        )
        user = await service.register(db, body, _ip(request))
    except ValidationError as exc:
        return _invalid(request, "identity/register.html", exc, values=values)
    except AppError as exc:
        return _failed(request, "identity/register.html", exc, values=values)
    response = redirect("/verify-email", request)
    await service.start_browser_session(db, user, request, response)
    flash(request, f"Welcome to smile, {user.display_name}! We emailed a 6-digit code to {user.email}.", "success")
    return response


# Log in and out


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, me: OptionalUser, next: str = "/") -> Response:
    if me:
        return redirect(safe_next(next), request)
    return _page(request, "identity/login.html", next=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, db: DB, me: OptionalUser, login: str = Form(""), password: str = Form(""), next: str = Form("/")
) -> Response:
    await check_csrf(request)
    target, values = safe_next(next), {"login": login}
    if not login.strip() or not password:
        errors = {
            k: v
            for k, v in (
                ("login", "Enter your email or username." if not login.strip() else ""),
                ("password", "Enter your password." if not password else ""),
            )
            if v
        }
        return _page(request, "identity/login.html", 422, errors=errors, values=values, next=target)
    try:
        user = await service.authenticate(db, login, password, _ip(request))
    except AppError as exc:
        return _failed(request, "identity/login.html", exc, values=values, next=target)
    if user.mfa_enabled:
        request.session[MFA_TOKEN] = sessions.mfa_challenge_token(user)
        request.session[MFA_NEXT] = target
        return redirect("/login/mfa", request)
    response = redirect(target, request)
    await service.start_browser_session(db, user, request, response)
    flash(request, f"Welcome back, {user.display_name}.", "success")
    return response


async def _mfa_user(request: Request, db: DB) -> User | None:
    token = request.session.get(MFA_TOKEN)
    if not token:
        return None
    try:
        return await service.mfa_pending_user(db, token)
    except AppError:
        request.session.pop(MFA_TOKEN, None)
        return None


@router.get("/login/mfa", response_class=HTMLResponse)
async def mfa_form(request: Request, db: DB, me: OptionalUser) -> Response:
    if await _mfa_user(request, db) is None:
        flash(request, "Enter your password first; the two-factor step lasts 5 minutes.", "warning")
        return redirect("/login", request)
    return _page(request, "identity/login_mfa.html")


@router.post("/login/mfa", response_class=HTMLResponse)
async def mfa_submit(request: Request, db: DB, me: OptionalUser, code: str = Form("")) -> Response:
    await check_csrf(request)
    user = await _mfa_user(request, db)
    if user is None:
        flash(request, "That sign-in took too long. Enter your password again.", "warning")
        return redirect("/login", request)
    try:
        await service.check_second_factor(db, user, code)
    except AppError as exc:
        return _failed(request, "identity/login_mfa.html", exc)
    request.session.pop(MFA_TOKEN, None)
    response = redirect(safe_next(request.session.pop(MFA_NEXT, "/")), request)
    await service.start_browser_session(db, user, request, response, mfa=True)
    flash(request, f"Welcome back, {user.display_name}.", "success")
    return response


@router.post("/logout")
async def logout(request: Request, db: DB, me: OptionalUser) -> Response:
    if me and me.via == "cookie":
        await service.logout(db, me, _ip(request))
    response = redirect("/", request)
    sessions.clear_cookie(response)
    flash(request, "You are logged out.", "info")
    return response


# Email verification


@router.get("/verify-email", response_class=HTMLResponse)
async def verify_form(request: Request, me: CurrentUser) -> Response:
    return _page(request, "identity/verify_email.html")


@router.post("/verify-email", response_class=HTMLResponse)
async def verify(request: Request, db: DB, me: CurrentUser, code: str = Form("")) -> Response:
    try:
        await service.verify_email(db, me.user, code)
    except AppError as exc:
        return _failed(request, "identity/verify_email.html", exc)
    flash(request, "Your email address is verified. Welcome aboard!", "success")
    return redirect("/", request)


@router.post("/verify-email/resend")
async def resend(request: Request, db: DB, me: CurrentUser) -> Response:
    try:
        await service.resend_code(db, me.user)
    except AppError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, f"We sent a new code to {me.user.email}. Earlier codes no longer work.", "success")
    return redirect("/verify-email", request)


# Password reset


@router.get("/password-reset", response_class=HTMLResponse)
async def reset_form(request: Request, me: OptionalUser) -> Response:
    return _page(request, "identity/password_reset.html")


@router.post("/password-reset", response_class=HTMLResponse)
async def reset_request(request: Request, db: DB, me: OptionalUser, email: str = Form("")) -> Response:
    await check_csrf(request)
    values = {"email": email}
    try:
        body = PasswordResetIn(email=email)
        await service.request_password_reset(db, str(body.email), _ip(request))
    except ValidationError as exc:
        return _invalid(request, "identity/password_reset.html", exc, values=values)
    except AppError as exc:
        return _failed(request, "identity/password_reset.html", exc, values=values)
    flash(
        request,
        f"If an account uses {body.email}, we emailed it a link to reset the password. "
        "The link works once, for 60 minutes.",
        "success",
    )
    return redirect("/login" if me is None else "/password-reset", request)


@router.get("/password-reset/confirm", response_class=HTMLResponse)
async def reset_confirm_form(request: Request, db: DB, me: OptionalUser, token: str = "") -> Response:
    valid = await service.reset_token_valid(db, token[:200])
    return _page(request, "identity/password_reset_confirm.html", 200 if valid else 400, token=token, valid=valid)


@router.post("/password-reset/confirm", response_class=HTMLResponse)
async def reset_confirm(
    request: Request, db: DB, me: OptionalUser, token: str = Form(""), password: str = Form("")
) -> Response:
    await check_csrf(request)
    name = "identity/password_reset_confirm.html"
    try:
        await service.confirm_password_reset(db, PasswordResetConfirmIn(token=token, password=password), _ip(request))
    except ValidationError as exc:
        return _invalid(request, name, exc, token=token, valid=True)
    except AppError as exc:
        return _failed(request, name, exc, token=token, valid=exc.code != "reset_link_invalid")
    response = redirect("/login", request)
    sessions.clear_cookie(response)
    flash(
        request, "Your password has been changed and every device was signed out. Log in with the new one.", "success"
    )
    return response


# Signed-in devices and password change


async def _sessions_page(request: Request, db: DB, me: CurrentUser, status: int = 200, **context) -> Response:
    items = await service.list_sessions(db, me)
    return _page(request, "identity/sessions.html", status, sessions=items, **context)


@router.get("/settings/sessions", response_class=HTMLResponse)
async def sessions_page(request: Request, db: DB, me: CurrentUser) -> Response:
    return await _sessions_page(request, db, me)


@router.post("/settings/sessions/{session_id}/revoke")
async def revoke_session(session_id: uuid.UUID, request: Request, db: DB, me: CurrentUser) -> Response:
    await service.revoke_session(db, me, session_id, _ip(request))
    if session_id == me.session.id:
        response = redirect("/", request)
        sessions.clear_cookie(response)
        flash(request, "You signed out this device.", "info")
        return response
    flash(request, "That device has been signed out.", "success")
    return redirect("/settings/sessions", request)


@router.post("/settings/sessions/revoke-others")
async def revoke_others(request: Request, db: DB, me: CurrentUser) -> Response:
    flash(request, (await service.revoke_other_sessions(db, me, _ip(request))).detail, "success")
    return redirect("/settings/sessions", request)


@router.post("/settings/password", response_class=HTMLResponse)
async def change_password(
    request: Request, db: DB, me: CurrentUser, current_password: str = Form(""), new_password: str = Form("")
) -> Response:
    try:
        body = PasswordChangeIn(current_password=current_password, new_password=new_password)
        count = await service.change_password(db, me, body, _ip(request))
    except ValidationError as exc:
        fields = validation_fields(exc)
        return await _sessions_page(request, db, me, 422, errors=fields, error=" ".join(fields.values()))
    except AppError as exc:
        return await _sessions_page(request, db, me, exc.status, errors=exc.fields, error=exc.message)
    flash(
        request,
        "Your password has been changed" + (f" and {count} other device(s) were signed out." if count else "."),
        "success",
    )
    return redirect("/settings/sessions", request)
