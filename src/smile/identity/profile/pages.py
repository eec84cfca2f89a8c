"""HTML pages: profile, privacy and account settings, and public profiles."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from smile.identity import sessions
from smile.identity.auth import DB, CurrentUser
from smile.identity.profile import gdpr, service
from smile.identity.profile.schemas import AgeVerification, DeleteAccount, ProfileUpdate, timezones
from smile.kit.db import utcnow
from smile.kit.errors import AppError
from smile.kit.requests import DBRoute
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)


def _field_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "form"
        errors.setdefault(field, str(err["msg"]).removeprefix("Value error, "))
    return errors


def _first_error(exc: ValidationError) -> str:
    return "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in _field_errors(exc).items())


def _text(form, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


@router.get("/settings/profile", response_class=HTMLResponse)
async def profile_page(request: Request, principal: CurrentUser) -> Response:
    user = principal.user
    form = {
        "display_name": user.display_name,
        "bio": user.bio,
        "links": "\n".join(user.links or []),
        "location": user.location,
        "language": user.language,
        "timezone": user.timezone,
    }
    return render(request, "identity/profile.html", {"form": form, "errors": {}, "timezones": sorted(timezones())})


@router.post("/settings/profile", response_class=HTMLResponse)
async def profile_save(request: Request, principal: CurrentUser, db: DB) -> Response:
    form = await request.form()
    fields = {k: _text(form, k) or "" for k in ("display_name", "bio", "links", "location", "language", "timezone")}
    try:
        data = ProfileUpdate(
            **{k: v for k, v in fields.items() if k != "links"},
            links=[line for line in fields["links"].splitlines() if line.strip()],
        )
    except ValidationError as exc:
        return render(
            request,
            "identity/profile.html",
            {"form": fields, "errors": _field_errors(exc), "timezones": sorted(timezones())},
            status=422,
        )
    await service.update_profile(db, principal.user, data)
    flash(request, "Profile saved.", "success")
    return redirect("/settings/profile", request)


@router.post("/settings/profile/avatar")
async def avatar_upload(request: Request, principal: CurrentUser, db: DB) -> Response:
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        flash(request, "Choose an image to upload.", "error")
        return redirect("/settings/profile", request)
    try:
        await service.set_avatar(db, principal.user, await upload.read(service.MAX_AVATAR_BYTES + 1))
    except AppError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, "Profile picture updated.", "success")
    return redirect("/settings/profile", request)


@router.post("/settings/profile/avatar/delete")
async def avatar_remove(request: Request, principal: CurrentUser, db: DB) -> Response:
    await service.remove_avatar(db, principal.user)
    flash(request, "Profile picture removed.", "success")
    return redirect("/settings/profile", request)


@router.get("/settings/privacy", response_class=HTMLResponse)
async def privacy_page(request: Request, principal: CurrentUser) -> Response:
    return render(request, "identity/privacy.html")


@router.post("/settings/privacy")
async def privacy_save(request: Request, principal: CurrentUser, db: DB) -> Response:
    form = await request.form()
    try:
        data = ProfileUpdate(
            is_private=form.get("is_private") == "1",
            discoverable_by_email=form.get("discoverable_by_email") == "1",
            who_can_message=_text(form, "who_can_message") or "everyone",
        )
    except ValidationError as exc:
        flash(request, _first_error(exc), "error")
        return redirect("/settings/privacy", request)
    await service.update_profile(db, principal.user, data)
    flash(request, "Privacy settings saved.", "success")
    return redirect("/settings/privacy", request)


@router.get("/settings/account", response_class=HTMLResponse)
async def account_page(request: Request, principal: CurrentUser, db: DB) -> Response:
    exports = [gdpr.export_out(e) for e in await gdpr.list_exports(db, principal.user)]
    return render(
        request,
        "identity/account.html",
        {"exports": exports, "erase_on": gdpr.erase_date(principal.user), "today": utcnow().date().isoformat()},
    )


@router.post("/settings/account/age")
async def account_age(request: Request, principal: CurrentUser, db: DB) -> Response:
    try:
        data = AgeVerification(date_of_birth=_text(await request.form(), "date_of_birth") or "")
        result = await service.verify_age(db, principal.user, data.date_of_birth)
    except ValidationError:
        flash(request, "Enter your date of birth.", "error")
    except AppError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, "Age verified: you are " + ("an adult." if result.is_adult else "under 18."), "success")
    return redirect("/settings/account", request)


@router.post("/settings/account/export")
async def account_export(request: Request, principal: CurrentUser, db: DB) -> Response:
    try:
        await gdpr.request_export(db, principal.user)
    except AppError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, "We are preparing your archive and will email you a download link.", "success")
    return redirect("/settings/account", request)


@router.post("/settings/account/delete")
async def account_delete(request: Request, principal: CurrentUser, db: DB) -> Response:
    form = await request.form()
    try:
        scheduled = await gdpr.request_deletion(
            db, principal.user, DeleteAccount(password=_text(form, "password"), confirm=_text(form, "confirm"))
        )
    except (AppError, ValidationError) as exc:
        flash(request, exc.message if isinstance(exc, AppError) else _first_error(exc), "error")
        return redirect("/settings/account", request)
    flash(request, scheduled.detail, "warning")
    response = redirect("/", request)
    sessions.clear_cookie(response)
    return response


@router.post("/settings/account/cancel-deletion")
async def account_cancel_deletion(request: Request, principal: CurrentUser, db: DB) -> Response:
    try:
        await gdpr.cancel_deletion(db, principal.user)
    except AppError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, "Your account will not be deleted.", "success")
    return redirect("/settings/account", request)
