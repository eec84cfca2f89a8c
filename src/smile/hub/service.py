"""hub: API key rules — create (secret shown once), list, change, revoke, look up, credit limits.

Keys die with the owner's sign-ins: a password reset by email and "sign out other devices" revoke every
active key (revoke_all_keys, registered with identity's hooks).
"""

from __future__ import annotations

import datetime as dt
import uuid

import structlog
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from smile.hub import keys
from smile.hub.models import ApiKey
from smile.hub.schemas import KeyCreate, KeyCreated, KeyOut, KeyUpdate
from smile.identity import audit, hooks
from smile.identity.models import User
from smile.kit import mail, runtime
from smile.kit.db import Last, at_commit, fetch_one, utcnow
from smile.kit.errors import AppError, Conflict, Invalid, NotFound
from smile.kit.pagination import keyset, page_of

log = structlog.get_logger("smile.hub")
TOUCH_EVERY = dt.timedelta(minutes=1)


class CreditLimitReached(AppError):
    status = 402
    code = "key_credit_limit_reached"
    openai_type = "insufficient_quota"


def key_out(key: ApiKey, now: dt.datetime | None = None) -> KeyOut:
    settings = runtime.current().settings
    return KeyOut(
        id=key.id,
        name=key.name,
        hint=key.hint,
        status=key.status(now or utcnow()),
        scopes=list(key.scopes),
        allowed_models=list(key.allowed_models or []),
        credit_limit=key.credit_limit,
        spent_credits=key.spent_credits,
        rpm_limit=key.rpm_limit or settings.hub_key_rpm,
        tpm_limit=key.tpm_limit or settings.hub_key_tpm,
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


def _active(now: dt.datetime):
    return [ApiKey.revoked_at.is_(None), (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > now)]


async def create_key(db: AsyncSession, user: User, data: KeyCreate, ip: str = "") -> KeyCreated:
    """A new key; the returned `secret` is the only time it exists outside the caller's hands."""
    settings = runtime.current().settings
    now = utcnow()
    # One user's key creations queue up here, so the cap holds under parallel requests.
    await db.execute(select(User.id).where(User.id == user.id).with_for_update())
    count = await db.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user.id, *_active(now)))
    if count >= settings.hub_max_keys:
        raise Conflict(
            f"You already have {count} active API keys, the most allowed. Revoke one you no longer use first.",
            code="too_many_keys",
        )
    secret = keys.new_secret()
    key = ApiKey(
        user_id=user.id,
        name=data.name,
        key_hash=keys.hash_secret(secret, settings.secret_key),
        hint=keys.hint(secret),
        scopes=list(data.scopes),
        allowed_models=list(data.allowed_models),
        credit_limit=data.credit_limit,
        spent_credits=0,
        rpm_limit=data.rpm_limit,
        tpm_limit=data.tpm_limit,
        expires_at=data.expires_at,
        created_at=now,
    )
    db.add(key)
    await db.flush()
    await audit.record(
        db, user.id, "api_key.created", key.id, target_type="api_key", ip=ip, name=data.name, scopes=list(data.scopes)
    )
    base = settings.base_url
    await mail.send(
        db,
        user.email,
        "A new API key was created",
        f'Hi {user.display_name},\n\nA new API key, "{" ".join(data.name.split())}" ({key.hint}), was '
        f"created for your smile account @{user.username} with the scopes {', '.join(data.scopes)}.\n"
        f"If this was not you, revoke it now at {base}/hub/keys and reset your password at "
        f"{base}/password-reset (a reset revokes every API key).\n",
    )
    return KeyCreated(**key_out(key, now).model_dump(), secret=secret)


async def list_keys(
    db: AsyncSession, user_id: uuid.UUID, cursor: str | None, limit: int, status: str | None = None
) -> tuple[list[KeyOut], str | None]:
    """The user's keys, newest first; `status` active|inactive narrows the list."""
    now = utcnow()
    stmt = select(ApiKey).where(ApiKey.user_id == user_id)
    if status == "active":
        stmt = stmt.where(*_active(now))
    elif status == "inactive":
        stmt = stmt.where((ApiKey.revoked_at.is_not(None)) | (ApiKey.expires_at <= now))
    rows = list((await db.scalars(keyset(stmt, ApiKey.id, cursor, limit))).all())
    rows, next_cursor = page_of(rows, limit)
    return [key_out(k, now) for k in rows], next_cursor


async def _owned(db: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID, lock: bool = False) -> ApiKey:
    stmt = select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id)
    key = await db.scalar(stmt.with_for_update() if lock else stmt)
    if key is None:
        raise NotFound("No such API key.")
    return key


async def get_key(db: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID) -> KeyOut:
    return key_out(await _owned(db, user_id, key_id))


async def update_key(db: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID, data: KeyUpdate) -> KeyOut:
    key = await _owned(db, user_id, key_id, lock=True)
    if key.status(utcnow()) != "active":
        raise Conflict(f"This key is {key.status(utcnow())}; create a new one instead.", code="key_inactive")
    changes = data.model_dump(include=data.model_fields_set)
    for field in ("name", "scopes", "allowed_models"):
        if changes.get(field) is None:
            changes.pop(field, None)  # null means "leave as is" for these
    if changes.get("credit_limit") is not None and changes["credit_limit"] < key.spent_credits:
        raise Invalid(
            f"This key has already spent {key.spent_credits:,} credits; the limit cannot be lower.",
            fields={"credit_limit": f"must be at least {key.spent_credits}"},
        )
    for field, value in changes.items():
        setattr(key, field, value)
    await db.flush()
    return key_out(key)


async def revoke_key(db: AsyncSession, user: User, key_id: uuid.UUID, ip: str = "") -> KeyOut:
    """Revoke for good (idempotent); the row stays for the usage history."""
    key = await _owned(db, user.id, key_id, lock=True)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await db.flush()
        await audit.record(db, user.id, "api_key.revoked", key.id, target_type="api_key", ip=ip, name=key.name)
    return key_out(key)


@hooks.credentials_revoked
async def revoke_all_keys(db: AsyncSession, user_id: uuid.UUID, reason: str) -> hooks.Revocation | None:
    """Revoke every active key of the user (on a password reset, or when they sign out other devices)."""
    now = utcnow()
    revoked = (
        (
            await db.execute(
                update(ApiKey)
                .where(ApiKey.user_id == user_id, *_active(now))
                .values(revoked_at=now)
                .returning(ApiKey.id)
                .execution_options(synchronize_session=False)
            )
        )
        .scalars()
        .all()
    )
    if not revoked:
        return None
    count = len(revoked)
    await audit.record(db, user_id, "api_key.revoked_all", user_id, reason=reason, count=count)
    keys_were = f"{count} API key was" if count == 1 else f"{count} API keys were"
    return hooks.Revocation(
        "api_keys", count, f"{keys_were} revoked; create new ones at {runtime.current().settings.base_url}/hub/keys."
    )


async def find_by_secret(db: AsyncSession, secret: str) -> tuple[ApiKey, User] | None:
    digest = keys.hash_secret(secret, runtime.current().settings.secret_key)
    row = (
        await db.execute(select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.key_hash == digest))
    ).first()
    return (row[0], row[1]) if row else None


async def touch(db: AsyncSession, key: ApiKey) -> None:
    """Record use at most once a minute, in the request's transaction: it never waits for a lock (a key row
    another request holds is skipped) and never fails the request (a savepoint)."""
    now = utcnow()
    if key.last_used_at is not None and now - key.last_used_at < TOUCH_EVERY:
        return
    try:
        async with db.begin_nested():
            locked = select(ApiKey.id).where(ApiKey.id == key.id).with_for_update(skip_locked=True).scalar_subquery()
            await db.execute(
                update(ApiKey)
                .where(ApiKey.id == locked)
                .where(ApiKey.last_used_at.is_(None) | (ApiKey.last_used_at < func.now() - text("interval '1 minute'")))
                .values(last_used_at=func.now())
                .execution_options(synchronize_session=False)
            )
        set_committed_value(key, "last_used_at", now)  # known, and not a change for the session to flush
    except Exception:  # bookkeeping only: never fail the caller's request over it
        log.warning("api_key_touch_failed", key_id=str(key.id), exc_info=True)


async def charge_key(db: AsyncSession, key_id: uuid.UUID, credits: int) -> int:
    """Add `credits` to the key's spend in one conditional UPDATE; refuse (402) past its credit limit.

    Returns the key's new total. Safe under any number of parallel callers: the limit cannot be passed.
    """
    if credits < 0:
        raise ValueError("credits must not be negative; use release_key to give credits back")
    spent = await fetch_one(
        db,
        "UPDATE hub_api_keys SET spent_credits = spent_credits + %(n)s WHERE id = %(id)s "
        "AND (credit_limit IS NULL OR spent_credits + %(n)s <= credit_limit) "
        "RETURNING spent_credits",
        {"n": credits, "id": key_id},
    )
    if spent is None:
        key = await db.scalar(select(ApiKey).where(ApiKey.id == key_id))
        if key is None:
            raise NotFound("No such API key.")
        left = max(0, (key.credit_limit or 0) - key.spent_credits)
        raise CreditLimitReached(
            f"This API key's credit limit is reached: {left:,} of its "
            f"{key.credit_limit:,} credits left, {credits:,} needed."
        )
    return spent[0]


# A correction of the spend after the call (+ more, - less than charged before it), sent with the COMMIT; a
# correction upwards past the credit limit changes nothing (the key is capped at its limit).
_ADJUST_KEY = (
    "UPDATE hub_api_keys SET spent_credits = spent_credits + %(n)s WHERE id = %(id)s "
    "AND spent_credits + %(n)s >= 0 AND (%(n)s <= 0 OR credit_limit IS NULL "
    "OR spent_credits + %(n)s <= credit_limit) RETURNING spent_credits"
)


def adjust_key_at_commit(db: AsyncSession, key_id: uuid.UUID, credits: int) -> Last:
    """Queue the key's spend correction by `credits` for the COMMIT (kit.db.at_commit); its row is None after
    the commit when it was refused (past the limit)."""
    return at_commit(db, _ADJUST_KEY, {"n": credits, "id": key_id})


async def release_key(db: AsyncSession, key_id: uuid.UUID, credits: int) -> int:
    """Give back credits charged but not used (e.g. the unused part of a reservation)."""
    if credits < 0:
        raise ValueError("credits must not be negative")
    spent = await fetch_one(
        db,
        "UPDATE hub_api_keys SET spent_credits = spent_credits - %(n)s WHERE id = %(id)s "
        "AND spent_credits >= %(n)s RETURNING spent_credits",
        {"n": credits, "id": key_id},
    )
    if spent is None:
        raise ValueError(f"cannot release {credits} credits: key {key_id} missing or has spent fewer")
    return spent[0]
