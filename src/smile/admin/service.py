"""Admin tools: find accounts, suspend or reactivate them, change roles. Every action is audited.

The changes themselves are identity's (smile.identity.accounts.standing); admin decides who may make them,
audits them and tells the person."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from smile.admin.schemas import AuditRow, UserRow
from smile.identity import audit
from smile.identity.accounts import standing
from smile.identity.models import AuditEntry, User
from smile.kit import mail, runtime
from smile.kit.errors import Conflict, Invalid, NotFound
from smile.kit.pagination import Page, keyset, page_of

REASON_MIN, REASON_MAX = 3, 500


def _like(term: str) -> str:
    """An ILIKE pattern matching `term` anywhere, with its wildcards taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def list_users(
    db: AsyncSession,
    *,
    q: str | None = None,
    status: str | None = None,
    role: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> Page[UserRow]:
    """Newest accounts first. `q` matches part of a username, display name or email; when nothing
    does, usernames similar to it (pg_trgm, for typos)."""
    stmt = select(User)
    if q and (term := q.strip()):
        pattern = _like(term)
        contains = or_(
            User.username.ilike(pattern, escape="\\"),
            User.display_name.ilike(pattern, escape="\\"),
            User.email.ilike(pattern, escape="\\"),
        )
        if not await db.scalar(select(exists().where(contains))):
            contains = User.username.op("%")(term.lower())  # trigram similarity, served by the GIN index
        stmt = stmt.where(contains)
    if status:
        stmt = stmt.where(User.status == status)
    if role:
        stmt = stmt.where(User.roles.contains([role]))
    rows = list((await db.scalars(keyset(stmt, User.id, cursor, limit))).all())
    items, next_cursor = page_of(rows, limit)
    return Page[UserRow](items=[UserRow.model_validate(u) for u in items], next_cursor=next_cursor)


async def get_user(db: AsyncSession, user_id: uuid.UUID) -> UserRow:
    user = await db.scalar(select(User).where(User.id == user_id))
    if user is None:
        raise NotFound("No account with this id.")
    return UserRow.model_validate(user)


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise Invalid(
            f"Give a reason of {REASON_MIN} to {REASON_MAX} characters; the person will read it.",
            fields={"reason": f"{REASON_MIN}–{REASON_MAX} characters"},
        )
    return reason


async def suspend(db: AsyncSession, actor: User, user_id: uuid.UUID, reason: str, ip: str = "") -> UserRow:
    """Suspend an active account: sign it out everywhere and tell the person why."""
    reason = _reason(reason)
    if user_id == actor.id:
        raise Conflict("You cannot suspend your own account.", code="self_action")
    user, revoked = await standing.suspend(db, user_id, reason)
    await audit.record(db, actor.id, "admin.suspend", user.id, ip=ip, reason=reason, sessions_revoked=revoked)
    await mail.send(
        db,
        user.email,
        "Your smile account has been suspended",
        f"Hello {user.display_name},\n\nAn administrator suspended your smile account "
        f"(@{user.username}), so you cannot sign in for now.\n\nReason: {reason}\n\n"
        "If you think this is a mistake, reply to this email.\n",
    )
    return UserRow.model_validate(user)


async def reactivate(db: AsyncSession, actor: User, user_id: uuid.UUID, ip: str = "") -> UserRow:
    """Lift a suspension."""
    user = await standing.reactivate(db, user_id)
    await audit.record(db, actor.id, "admin.reactivate", user.id, ip=ip)
    base_url = runtime.current().settings.base_url
    await mail.send(
        db,
        user.email,
        "Your smile account has been reactivated",
        f"Hello {user.display_name},\n\nYour smile account (@{user.username}) is active again. "
        f"You can sign in at {base_url}/login.\n",
    )
    return UserRow.model_validate(user)


async def set_roles(db: AsyncSession, actor: User, user_id: uuid.UUID, roles: list[str], ip: str = "") -> UserRow:
    """Replace an account's roles ("user" is always kept). Admins cannot drop their own admin role."""
    new = standing.normal_roles(roles)
    if user_id == actor.id and "admin" not in new:
        raise Conflict("You cannot remove your own admin role; ask another admin to do it.", code="self_demotion")
    user, old = await standing.set_roles(db, user_id, new)
    if set(new) != set(old):
        await audit.record(
            db,
            actor.id,
            "admin.roles",
            user.id,
            ip=ip,
            added=sorted(set(new) - set(old)),
            removed=sorted(set(old) - set(new)),
        )
    return UserRow.model_validate(user)


async def audit_page(
    db: AsyncSession,
    *,
    actor: str | None = None,
    target: str | None = None,
    action: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> Page[AuditRow]:
    """Audit entries, newest first. `actor` and `target` take a username or an id; `action` a name or prefix."""
    actor_user = aliased(User)
    stmt = select(AuditEntry, actor_user.username).outerjoin(actor_user, actor_user.id == AuditEntry.actor_id)
    if actor and (actor := actor.strip()):
        actor_id = _as_uuid(actor)
        stmt = stmt.where(
            AuditEntry.actor_id == actor_id if actor_id else actor_user.username == actor.lower().lstrip("@")
        )
    if target and (target := target.strip()):
        target_id = _as_uuid(target) or await db.scalar(
            select(User.id).where(User.username == target.lower().lstrip("@"))
        )
        stmt = stmt.where(AuditEntry.target_id == str(target_id) if target_id else false())
    if action and (action := action.strip().rstrip(".*")):
        stmt = stmt.where(or_(AuditEntry.action == action, AuditEntry.action.startswith(action + ".")))
    rows = list((await db.execute(keyset(stmt, AuditEntry.id, cursor, limit))).all())
    rows, next_cursor = page_of(rows, limit, id_of=lambda row: row[0].id)
    target_ids = {u for entry, _ in rows if entry.target_type == "user" and (u := _as_uuid(entry.target_id or ""))}
    names = (
        dict((await db.execute(select(User.id, User.username).where(User.id.in_(target_ids)))).all())
        if target_ids
        else {}
    )
    items = [
        AuditRow(
            id=entry.id,
            created_at=entry.created_at,
            actor_id=entry.actor_id,
            actor_username=username,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            target_username=names.get(_as_uuid(entry.target_id or "")),
            detail=entry.detail or {},
            ip=entry.ip,
        )
        for entry, username in rows
    ]
    return Page[AuditRow](items=items, next_cursor=next_cursor)
