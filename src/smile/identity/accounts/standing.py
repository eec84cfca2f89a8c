"""identity: an account's standing — suspend, reactivate, roles. The only writer of those columns of `users`.

Called by admin (smile.admin.service), which decides who may do it, audits it and tells the person.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity import sessions
from smile.identity.models import ROLES, User
from smile.kit.errors import Conflict, Invalid, NotFound


async def locked(db: AsyncSession, user_id: uuid.UUID) -> User:
    """The account, its row locked for a change of standing (404 when there is none)."""
    user = await db.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound("No account with this id.")
    return user


async def suspend(db: AsyncSession, user_id: uuid.UUID, reason: str) -> tuple[User, int]:
    """Suspend an active account and sign it out everywhere; returns it and the sessions revoked."""
    user = await locked(db, user_id)
    if user.status != "active":
        raise Conflict(f"Only active accounts can be suspended; this one is {user.status}.", code="wrong_status")
    user.status = "suspended"
    user.suspended_reason = reason
    await db.flush()
    return user, await sessions.revoke_all(db, user.id, reason="suspended")


async def reactivate(db: AsyncSession, user_id: uuid.UUID) -> User:
    """Lift a suspension."""
    user = await locked(db, user_id)
    if user.status != "suspended":
        raise Conflict(f"Only suspended accounts can be reactivated; this one is {user.status}.", code="wrong_status")
    user.status = "active"
    user.suspended_reason = None
    await db.flush()
    return user


def normal_roles(roles: list[str]) -> list[str]:
    """Known roles in their canonical order, "user" always included (422 naming unknown ones)."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise Invalid(
            f"Unknown role(s) {', '.join(unknown)}; choose from {', '.join(ROLES)}.", fields={"roles": "unknown role"}
        )
    return [r for r in ROLES if r in set(roles) | {"user"}]


async def set_roles(db: AsyncSession, user_id: uuid.UUID, roles: list[str]) -> tuple[User, list[str]]:
    """Replace the account's roles (normal_roles); returns it and its roles before."""
    new = normal_roles(roles)
    user = await locked(db, user_id)
    old = list(user.roles or [])
    if set(new) != set(old):
        user.roles = new
        await db.flush()
    return user, old
