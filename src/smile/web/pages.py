"""Core pages: home, and the captured-mail viewer in dev mode."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from smile.identity.auth import DB, OptionalUser
from smile.kit import runtime
from smile.kit.errors import NotFound
from smile.kit.mail import Email
from smile.kit.requests import DBRoute
from smile.web.render import render

router = APIRouter(route_class=DBRoute, include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, me: OptionalUser, db: DB) -> HTMLResponse:
    """The feed for signed-in people (when the social module is on); the welcome page otherwise."""
    if me is not None and me.user.email_verified and "social" in runtime.current().settings.module_list:
        from smile.social.timelines.pages import home_page

        return await home_page(request, me, db)
    return render(request, "home.html")


@router.get("/dev/mail", response_class=HTMLResponse)
async def dev_mail(request: Request, db: DB, me: OptionalUser, to: str | None = None) -> HTMLResponse:
    if not runtime.current().settings.is_dev:
        raise NotFound()
    stmt = select(Email).order_by(Email.id.desc()).limit(50)
    if to:
        stmt = stmt.where(Email.to == to)
    emails = (await db.scalars(stmt)).all()
    return render(request, "dev/mail.html", {"emails": emails, "to": to or ""})
