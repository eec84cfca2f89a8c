"""OAuth/OIDC identities: sign in, sign up, link and unlink. Never merges accounts by email.

An address the provider has not verified never creates or links an account (else anyone could claim
someone else's address there and pre-hijack the account), and no identity is linked to an account whose
own address is unverified. Identities linked while the address was unverified (before these rules) are
removed when the password is reset by email (`drop_unverified_links`).
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity import audit
from smile.identity.models import OAuthIdentity, User
from smile.identity.rules import username_problem
from smile.kit.db import utcnow
from smile.kit.errors import Conflict, Forbidden, Invalid, NotFound


@dataclass
class Claims:
    """What smile uses from an ID token."""

    sub: str
    email: str | None
    email_verified: bool
    name: str | None

    @classmethod
    def of(cls, userinfo: dict[str, Any]) -> Claims:
        sub = str(userinfo.get("sub") or "")
        if not sub or len(sub) > 255:
            raise Invalid("The sign-in provider did not send a usable account id.", code="oauth_bad_claims")
        email = None
        if isinstance(userinfo.get("email"), str):
            try:
                email = validate_email(userinfo["email"], check_deliverability=False).normalized.lower()
            except EmailNotValidError:
                email = None
        verified = userinfo.get("email_verified") in (True, "true", "True")
        name = userinfo.get("name") if isinstance(userinfo.get("name"), str) else None
        return cls(sub=sub, email=email, email_verified=bool(email) and verified, name=name)


@dataclass
class Outcome:
    """What the callback should do next.

    kind: "login" (existing identity), "created" (new account), "linked" (added to the signed-in
    user), "email_taken" (an account with this email exists: never merged; sign in and link).
    """

    kind: str
    user: User | None = None
    email: str | None = None


async def find_identity(db: AsyncSession, provider: str, subject: str) -> OAuthIdentity | None:
    return await db.scalar(
        select(OAuthIdentity).where(OAuthIdentity.provider == provider, OAuthIdentity.subject == subject)
    )


async def list_identities(db: AsyncSession, user_id: uuid.UUID) -> list[OAuthIdentity]:
    return list(
        (
            await db.scalars(
                select(OAuthIdentity).where(OAuthIdentity.user_id == user_id).order_by(OAuthIdentity.provider)
            )
        ).all()
    )


async def _username_taken(db: AsyncSession, name: str) -> bool:
    return await db.scalar(select(func.count()).select_from(User).where(func.lower(User.username) == name)) > 0


async def unique_username(db: AsyncSession, claims: Claims) -> str:
    """A valid, free username derived from the email's local part or the name."""
    seed = (claims.email or "").split("@")[0] or claims.name or "user"
    base = re.sub(r"[^a-z0-9_]+", "_", seed.lower()).strip("_")[:24] or "user"
    if len(base) < 3:
        base = (base + "_user")[:24]
    candidates = [base] + [f"{base}_{n}" for n in range(2, 10)]
    candidates += [f"{base}_{secrets.token_hex(3)}" for _ in range(5)]
    for name in candidates:
        if username_problem(name) is None and not await _username_taken(db, name):
            return name
    return f"user_{secrets.token_hex(8)}"


async def _email_taken(db: AsyncSession, email: str) -> bool:
    return await db.scalar(select(func.count()).select_from(User).where(func.lower(User.email) == email.lower())) > 0


async def _add_identity(db: AsyncSession, user: User, provider: str, claims: Claims) -> OAuthIdentity:
    identity = OAuthIdentity(user_id=user.id, provider=provider, subject=claims.sub, email=claims.email)
    try:
        async with db.begin_nested():
            db.add(identity)
            await db.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"This {provider} account is already linked to a smile account.", code="oauth_identity_taken"
        ) from exc
    return identity


def _refuse_unverified(provider: str, claims: Claims) -> None:
    if claims.email and not claims.email_verified:
        raise Invalid(
            f"{provider} has not verified the email address {claims.email}, so smile cannot use it. "
            f"Verify the address at {provider} and try again, or sign up with a password.",
            code="oauth_email_unverified",
        )


async def link(db: AsyncSession, user: User, provider: str, claims: Claims, ip: str = "") -> Outcome:
    """Attach the provider account to the signed-in user (whose own email address must be verified)."""
    if not user.email_verified:
        raise Forbidden(
            f"Verify your email address first (enter the code we emailed you), then link {provider}.",
            code="email_unverified",
        )
    _refuse_unverified(provider, claims)
    existing = await find_identity(db, provider, claims.sub)
    if existing is not None and existing.user_id != user.id:
        raise Conflict(
            f"This {provider} account is already linked to another smile account. Unlink it there first.",
            code="oauth_identity_taken",
        )
    if existing is None:
        if any(i.provider == provider for i in await list_identities(db, user.id)):
            raise Conflict(
                f"You already linked a different {provider} account. Unlink it first.", code="oauth_provider_linked"
            )
        await _add_identity(db, user, provider, claims)
        await audit.record(db, user.id, "oauth.linked", user.id, ip=ip, provider=provider)
    return Outcome("linked", user=user)


async def sign_in(db: AsyncSession, provider: str, claims: Claims, ip: str = "") -> Outcome:
    """Sign in with an existing identity, or create an account from a verified email; never merge on a known
    email."""
    identity = await find_identity(db, provider, claims.sub)
    if identity is not None:
        user = await db.get(User, identity.user_id)
        assert user is not None
        return Outcome("login", user=user)
    if not claims.email:
        raise Invalid(
            f"{provider} did not share an email address, which smile needs to create an account. "
            "Allow email access at the provider and try again.",
            code="oauth_no_email",
        )
    _refuse_unverified(provider, claims)
    if await _email_taken(db, claims.email):
        return Outcome("email_taken", email=claims.email)
    now = utcnow()
    username = await unique_username(db, claims)
    user = User(
        email=claims.email,
        username=username,
        display_name=(claims.name or username).strip()[:80] or username,
        password_hash=None,
        email_verified_at=now,
        terms_accepted_at=now,
        roles=["user"],
    )
    try:
        async with db.begin_nested():  # all or nothing, also when another tab raced us
            db.add(user)
            await db.flush()
            db.add(OAuthIdentity(user_id=user.id, provider=provider, subject=claims.sub, email=claims.email))
            await db.flush()
    except IntegrityError as exc:
        raise Conflict(
            "This account was being created at the same moment elsewhere. Try signing in again.",
            code="oauth_signup_conflict",
        ) from exc
    await audit.record(db, user.id, "oauth.signup", user.id, ip=ip, provider=provider)
    return Outcome("created", user=user)


async def unlink(db: AsyncSession, user: User, provider: str, ip: str = "") -> None:
    """Remove a linked identity, unless it is the last way to sign in."""
    identities = await list_identities(db, user.id)
    identity = next((i for i in identities if i.provider == provider), None)
    if identity is None:
        raise NotFound(f"No {provider} account is linked.")
    if user.password_hash is None and len(identities) == 1:
        raise Conflict(
            "This is the only way you can sign in. Set a password (reset it by email) or link another provider first.",
            code="last_sign_in_method",
        )
    await db.delete(identity)
    await db.flush()
    await audit.record(db, user.id, "oauth.unlinked", user.id, ip=ip, provider=provider)


def _linked_unverified(user: User):
    """Identities linked before the account's email address was verified (or while it still is not)."""
    if user.email_verified_at is None:
        return OAuthIdentity.user_id == user.id
    return (OAuthIdentity.user_id == user.id) & (OAuthIdentity.created_at < user.email_verified_at)


async def unverified_links(db: AsyncSession, user: User) -> list[OAuthIdentity]:
    """The identities a password reset would remove (see drop_unverified_links)."""
    return list(
        (await db.scalars(select(OAuthIdentity).where(_linked_unverified(user)).order_by(OAuthIdentity.provider))).all()
    )


async def drop_unverified_links(db: AsyncSession, user: User, ip: str = "") -> list[str]:
    """On a password reset by email: remove identities linked while the address was unverified.

    Whoever linked them never proved they own the address, so they may be someone else's way into the
    account. Call before the reset marks the address verified. Returns the removed providers' names.
    """
    removed = list(
        (
            await db.scalars(delete(OAuthIdentity).where(_linked_unverified(user)).returning(OAuthIdentity.provider))
        ).all()
    )
    if removed:
        await audit.record(db, user.id, "oauth.unlinked_on_reset", user.id, ip=ip, providers=sorted(removed))
    return sorted(removed)
