"""Browser side of OAuth/OIDC: start the flow, handle the provider's callback, unlink from settings."""

from __future__ import annotations

from typing import Annotated

from authlib.integrations.starlette_client import OAuthError
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from smile.identity import audit, sessions
from smile.identity.auth import DB, OptionalUser, Principal
from smile.identity.oauth import client, service
from smile.kit.errors import Conflict, Forbidden, Invalid, NotFound
from smile.kit.redirects import safe_next
from smile.kit.requests import DBRoute
from smile.web.render import flash, login_redirect, redirect, render, templates

router = APIRouter(route_class=DBRoute, include_in_schema=False)

templates.env.globals["oauth_providers"] = client.providers
ProviderName = Annotated[str, Path(max_length=50)]
FLOW = "oauth_flow"  # request.session key: {provider, next, link_user}
MFA_TOKEN, MFA_NEXT = "mfa_token", "mfa_next"  # handed to the /login/mfa page


@router.api_route("/auth/oauth/{provider}/login", methods=["GET", "POST"])
async def oauth_login(
    request: Request, me: OptionalUser, provider: ProviderName, next: str = "/", link: bool = False
) -> Response:
    """Send the browser to the provider. Linking (?link=1) is a CSRF-checked POST by a signed-in user."""
    label = client.provider(provider).label
    flow = {"provider": provider, "next": safe_next(next)}
    if link:
        if me is None:
            return login_redirect(request)
        if request.method != "POST":
            flash(request, f"Use the “Link {label}” button to link an account.", "info")
            return redirect("/settings/security", request)
        flow.update(link_user=str(me.id), next="/settings/security")
    request.session[FLOW] = flow
    try:
        return await client.app(provider).authorize_redirect(request, client.redirect_uri(request, provider))
    except (*client.TRANSPORT_ERRORS, OAuthError, ValueError, KeyError):
        flash(request, f"{label} could not be reached right now. Try again in a minute.", "error")
        return redirect("/settings/security" if link else "/login", request)


def _problem(request: Request, status: int, message: str, label: str, back: str) -> Response:
    """An expected refusal shown as a page (nothing was written, so the request may still commit)."""
    return render(
        request, "identity/oauth_problem.html", {"label": label, "message": message, "back": back}, status=status
    )


@router.get("/auth/oauth/{provider}/callback", name="oauth_callback")
async def oauth_callback(request: Request, db: DB, me: OptionalUser, provider: ProviderName) -> Response:
    label = client.provider(provider).label
    flow = request.session.pop(FLOW, None) or {}
    if flow.get("provider") != provider:
        flow = {}
    back = "/settings/security" if flow.get("link_user") else "/login"
    oauth = client.app(provider)
    try:
        token = await oauth.authorize_access_token(request)
        userinfo = token.get("userinfo") or await oauth.userinfo(token=token)
    except OAuthError as exc:
        flash(request, f"Signing in with {label} did not complete ({exc.description or exc.error}).", "error")
        return redirect(back, request)
    except client.TRANSPORT_ERRORS:
        flash(request, f"{label} could not be reached right now. Try again in a minute.", "error")
        return redirect(back, request)
    ip = sessions.client_info(request)[1]
    try:
        claims = service.Claims.of(userinfo)
        if flow.get("link_user"):
            if me is None or str(me.id) != flow["link_user"]:
                flash(request, "You were signed out while linking. Log in and try again.", "error")
                return redirect("/login?next=/settings/security", request)
            await service.link(db, me.user, provider, claims, ip=ip)
            flash(request, f"Your {label} account is linked. You can now sign in with it.", "success")
            return redirect("/settings/security", request)
        outcome = await service.sign_in(db, provider, claims, ip=ip)
    except (Conflict, Forbidden, Invalid) as exc:  # raised before anything is written
        return _problem(request, exc.status, exc.message, label, back)
    if outcome.kind == "email_taken":
        return render(
            request,
            "identity/oauth_email_taken.html",
            {"label": label, "provider": provider, "email": outcome.email},
            status=409,
        )
    return await _sign_in(request, db, me, outcome, provider, flow.get("next", "/"), ip)


async def _sign_in(
    request: Request, db: DB, me: Principal | None, outcome: service.Outcome, provider: str, target: str, ip: str
) -> Response:
    label = client.provider(provider).label
    user = outcome.user
    assert user is not None
    if user.status in ("suspended", "deleted"):
        return _problem(
            request, 403, "This account cannot sign in. Contact support if you think this is a mistake.", label, "/"
        )
    if me is not None and me.via == "cookie":
        await sessions.revoke(db, me.session.id, reason="switched_account")
    if user.mfa_enabled:  # the provider is one factor; the TOTP step still applies
        request.session[MFA_TOKEN] = sessions.mfa_challenge_token(user)
        request.session[MFA_NEXT] = target
        return redirect("/login/mfa", request)
    response = redirect(target, request)
    await sessions.issue_browser_session(db, user, request, response)
    await audit.record(
        db, user.id, "auth.login", user.id, ip=ip, via="oauth", provider=provider, new_account=outcome.kind == "created"
    )
    if outcome.kind == "created":
        flash(request, f"Welcome to smile, @{user.username}! Your account was created with {label}.", "success")
    return response


@router.post("/settings/security/oauth/{provider}/unlink")
async def oauth_unlink_form(request: Request, db: DB, me: OptionalUser, provider: ProviderName) -> Response:
    if me is None:
        return login_redirect(request)
    try:
        await service.unlink(db, me.user, provider, ip=sessions.client_info(request)[1])
    except (Conflict, NotFound) as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, "The account was unlinked.", "success")
    return redirect("/settings/security", request)
