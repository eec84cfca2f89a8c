"""Admin test helpers: an MFA-verified admin, and accounts made straight in the database."""

from __future__ import annotations

from smile.seed import create_user_sync
from tests.support import STRONG_PASSWORD, Api, enable_mfa


def grant(db, user_id: str, role: str) -> None:
    db.execute(
        "UPDATE users SET roles = array_append(roles, %s) WHERE id = %s AND NOT %s = ANY(roles)", (role, user_id, role)
    )


def make_admin(signup, db, mfa: bool = True) -> Api:
    """A signed-up user given the admin role; with mfa, two-factor is on and the session verified."""
    api = signup()
    grant(db, api.user["id"], "admin")
    if mfa:
        enable_mfa(api)
    api.user = api.get("/api/v1/users/me").json()
    return api


def add_user(
    dsn: str,
    username: str,
    *,
    display_name: str | None = None,
    email: str | None = None,
    roles: tuple[str, ...] = ("user",),
) -> str:
    """A verified account created like `smile admin create-user` does; returns its id."""
    user_id = create_user_sync(
        dsn,
        email=email or f"{username}@example.com",
        username=username,
        password=STRONG_PASSWORD,
        roles=list(roles),
        display_name=display_name,
    )
    return str(user_id)
