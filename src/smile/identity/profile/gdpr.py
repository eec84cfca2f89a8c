"""GDPR: data export archives and account deletion with a grace period, then erasure.

Identity exports and erases its own tables here. Every other domain that stores data about a person
registers a `Domain` (an exporter and an eraser) with `register`, from its own `gdpr` module, which the
app imports for each enabled module (smile.app.MODULE_GDPR). docs/privacy.md says what each one keeps.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity import audit, sessions
from smile.identity.models import (
    AuditEntry,
    AuthSession,
    DataExport,
    EmailCode,
    OAuthIdentity,
    PasswordReset,
    RecoveryCode,
    User,
)
from smile.identity.profile import tasks
from smile.identity.profile.schemas import DeleteAccount, DeletionScheduled, ExportOut
from smile.kit import jobs, mail, runtime
from smile.kit.db import utcnow
from smile.kit.errors import Conflict, Gone, Invalid, NotFound
from smile.kit.mail import Email
from smile.kit.security import hash_token, new_token, verify_password

STALE_PENDING = dt.timedelta(hours=1)
IDENTITY_SECTIONS = ("profile", "sessions", "oauth_identities", "audit_log", "emails", "data_exports")
USER_PRIVATE = {"password_hash", "totp_secret", "totp_pending_secret"}
LINK_SECRET_RE = re.compile(r"(/exports/|[?&]token=)[\w-]+")  # links that still grant access stay out


# The registry

Exporter = Callable[[AsyncSession, User], Awaitable[dict[str, Any]]]
Eraser = Callable[[AsyncSession, User], Awaitable[list[str]]]
Files = Callable[[AsyncSession, User], Awaitable[list[tuple[str, str]]]]


@dataclass(frozen=True)
class Domain:
    """What one domain holds about a person.

    export: JSON-ready data, stored under `name` in the archive's data.json (only the person's own data:
    never other people's private content).
    erase: delete or anonymize it (flush, never commit) and return the storage keys of files to delete;
    they are deleted through the storage layer once every domain has flushed.
    files: (name in the archive, storage key) of the person's files to put in the archive.
    """

    name: str
    export: Exporter
    erase: Eraser
    files: Files | None = None


_registry: dict[str, Domain] = {}


def register(name: str, *, export: Exporter, erase: Eraser, files: Files | None = None) -> None:
    """Add a domain's exporter and eraser (again under the same name: replaced)."""
    if name in ("format", "generated_at", *IDENTITY_SECTIONS):
        raise ValueError(f"{name!r} is identity's own section of the export")
    _registry[name] = Domain(name, export, erase, files)


def domains() -> list[Domain]:
    return list(_registry.values())


def exports_dir() -> Path:
    """Archives live under the data dir, outside the public media root."""
    return runtime.current().settings.data_dir / "exports"


def _secret() -> str:
    return runtime.current().settings.secret_key


def export_out(export: DataExport) -> ExportOut:
    live = export.status == "ready" and export.expires_at is not None and export.expires_at > utcnow()
    return ExportOut(
        id=export.id,
        status="expired" if export.status == "ready" and not live else export.status,
        created_at=export.created_at,
        completed_at=export.completed_at,
        expires_at=export.expires_at,
        size=export.size_bytes,
        download_url=f"/api/v1/users/me/exports/{export.id}/download" if live else None,
    )


# Export


async def request_export(db: AsyncSession, user: User) -> DataExport:
    """Queue an archive of everything we hold about the user; one at a time."""
    pending = select(DataExport.id).where(DataExport.user_id == user.id, DataExport.status == "pending")
    if await db.scalar(pending) is not None:
        raise Conflict("An export is already being prepared. We will email you when it is ready.")
    export = DataExport(user_id=user.id, status="pending")
    try:
        async with db.begin_nested():
            db.add(export)
    except IntegrityError as exc:  # a concurrent request won the partial unique index
        raise Conflict("An export is already being prepared. We will email you when it is ready.") from exc
    await jobs.defer(db, tasks.build_export, export_id=str(export.id))
    await audit.record(db, user.id, "user.export_requested", user.id)
    return export


async def list_exports(db: AsyncSession, user: User) -> list[DataExport]:
    return list(
        (
            await db.scalars(
                select(DataExport).where(DataExport.user_id == user.id).order_by(DataExport.id.desc()).limit(20)
            )
        ).all()
    )


def _row(obj: Any, skip: set[str] = frozenset()) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs if c.key not in skip}


async def collect(db: AsyncSession, user: User) -> dict[str, Any]:
    """Everything the platform holds about this person, as JSON-ready data."""
    uid = user.id

    async def rows(stmt, skip: set[str] = frozenset()) -> list[dict[str, Any]]:
        return [_row(r, skip) for r in (await db.scalars(stmt)).all()]

    data = {
        "format": "smile-export/1",
        "generated_at": utcnow(),
        "profile": _row(user, USER_PRIVATE) | {"mfa_enabled": user.mfa_enabled},
        "sessions": await rows(
            select(AuthSession).where(AuthSession.user_id == uid).order_by(AuthSession.id), {"cookie_hash"}
        ),
        "oauth_identities": await rows(select(OAuthIdentity).where(OAuthIdentity.user_id == uid)),
        "audit_log": await rows(
            select(AuditEntry)
            .where(or_(AuditEntry.target_id == str(uid), AuditEntry.actor_id == uid))
            .order_by(AuditEntry.id)
        ),
        "emails": [
            e | {"body": LINK_SECRET_RE.sub(r"\1[redacted]", e["body"])}
            for e in await rows(select(Email).where(func.lower(Email.to) == user.email.lower()).order_by(Email.id))
        ],
        "data_exports": await rows(select(DataExport).where(DataExport.user_id == uid), {"token_hash", "file_key"}),
    }
    for domain in domains():
        data[domain.name] = await domain.export(db, user)
    return data


async def archive_files(db: AsyncSession, user: User) -> list[tuple[str, str]]:
    """(name in the archive, storage key) of every file the person has: the avatar and each domain's."""
    files = [("avatar.webp", user.avatar_key)] if user.avatar_key else []
    for domain in domains():
        if domain.files is not None:
            files.extend(await domain.files(db, user))
    return files


def write_archive(path: Path, data: dict[str, Any], files: list[tuple[str, str]]) -> int:
    """data.json and the files, streamed from storage (a file gone missing is left out)."""
    storage = runtime.current().storage
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, default=str, indent=2, ensure_ascii=False))
        for name, key in files:
            if not storage.exists(key):
                continue
            with archive.open(name, "w", force_zip64=True) as out:
                for chunk in storage.stream(key):
                    out.write(chunk)
    tmp.replace(path)
    return path.stat().st_size


async def build_export(db: AsyncSession, export_id: uuid.UUID) -> None:
    """Job body: write the archive, then email a link that expires. Idempotent."""
    export = await db.scalar(select(DataExport).where(DataExport.id == export_id).with_for_update())
    if export is None or export.status != "pending":
        return
    user = await db.get(User, export.user_id)
    if user is None or user.status == "deleted":
        export.status = "failed"
        return
    rt = runtime.current()
    key = f"{user.id}/{export.id}.zip"
    data = await collect(db, user)
    files = await archive_files(db, user)
    export.size_bytes = await asyncio.to_thread(write_archive, exports_dir() / key, data, files)
    token = new_token()
    hours = rt.settings.export_link_hours
    export.file_key, export.token_hash = key, hash_token(token, _secret())
    export.status, export.completed_at = "ready", utcnow()
    export.expires_at = utcnow() + dt.timedelta(hours=hours)
    link = f"{rt.settings.base_url}/api/v1/exports/{token}"
    await mail.send(
        db,
        user.email,
        "Your smile data export is ready",
        f"Hello {user.display_name},\n\nthe archive of your smile data is ready:\n\n{link}\n\n"
        f"The link works for {hours} hours. Anyone with the link can download the archive, "
        f"so do not share it.\n",
    )
    await db.flush()


async def export_file(db: AsyncSession, *where) -> tuple[Path, str]:
    row = (
        await db.execute(select(DataExport, User.username).join(User, User.id == DataExport.user_id).where(*where))
    ).first()
    if row is None:
        raise NotFound("This export link is not valid.")
    export, username = row
    if export.status != "ready" or export.expires_at is None or export.expires_at <= utcnow():
        if export.status in ("ready", "expired"):
            raise Gone("This export link has expired. Request a new export from your account settings.")
        raise NotFound("This export is not ready yet.")
    path = exports_dir() / export.file_key
    if not path.exists():
        raise Gone("This export is no longer available. Request a new export from your account settings.")
    return path, f"smile-export-{username}-{export.completed_at:%Y%m%d}.zip"


async def export_by_token(db: AsyncSession, token: str) -> tuple[Path, str]:
    """The token alone grants access: it is the secret in the emailed link."""
    return await export_file(db, DataExport.token_hash == hash_token(token, _secret()))


async def export_for_owner(db: AsyncSession, user: User, export_id: uuid.UUID) -> tuple[Path, str]:
    return await export_file(db, DataExport.id == export_id, DataExport.user_id == user.id)


async def purge_exports(db: AsyncSession) -> int:
    """Expire archives past their link lifetime (deleting the files) and fail stuck jobs."""
    due = (
        await db.scalars(select(DataExport).where(DataExport.status == "ready", DataExport.expires_at <= utcnow()))
    ).all()
    for export in due:
        _delete_export_file(export)
        export.status, export.file_key = "expired", None
    await db.execute(
        update(DataExport)
        .where(DataExport.status == "pending", DataExport.created_at < utcnow() - STALE_PENDING)
        .values(status="failed")
    )
    await db.flush()
    return len(due)


def _delete_export_file(export: DataExport) -> None:
    if export.file_key:
        (exports_dir() / export.file_key).unlink(missing_ok=True)


# Deletion


def erase_date(user: User) -> dt.datetime:
    days = runtime.current().settings.account_deletion_grace_days
    return (user.deletion_requested_at or utcnow()) + dt.timedelta(days=days)


async def request_deletion(db: AsyncSession, user: User, data: DeleteAccount) -> DeletionScheduled:
    """Confirm with the password (or "DELETE" without one), sign out everywhere, erase after the grace."""
    if user.status == "deleting":
        raise Conflict("This account is already scheduled for deletion.")
    if user.password_hash:
        rt = runtime.current()
        await rt.limiter.hit(rt.settings.rate_login, "delete-account", str(user.id), message="Too many attempts.")
        if not data.password or not verify_password(user.password_hash, data.password):
            raise Invalid("The password is not correct.", fields={"password": "not correct"})
    elif data.confirm != "DELETE":
        raise Invalid("Type DELETE to confirm.", fields={"confirm": 'type "DELETE"'})
    user.status, user.deletion_requested_at = "deleting", utcnow()
    await sessions.revoke_all(db, user.id, reason="account_deletion")
    when = erase_date(user)
    await audit.record(db, user.id, "user.deletion_requested", user.id)
    await mail.send(
        db,
        user.email,
        "Your smile account will be deleted",
        f"Hello {user.display_name},\n\nyour smile account and personal data will be erased on "
        f"{when:%d %B %Y}. Changed your mind? Log in before then and cancel the deletion in "
        f"your account settings.\n",
    )
    return DeletionScheduled(
        erase_after=when, detail=f"Your account will be erased on {when:%d %B %Y}. Log in before then to cancel."
    )


async def cancel_deletion(db: AsyncSession, user: User) -> User:
    if user.status != "deleting":
        raise Conflict("This account is not scheduled for deletion.")
    user.status, user.deletion_requested_at = "active", None
    await audit.record(db, user.id, "user.deletion_cancelled", user.id)
    return user


def _is_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _scrub(value: Any, secrets: tuple[str, ...], all_text: bool = False) -> Any:
    """Erase the strings that contain a secret (all strings but ids, with all_text) and every email."""
    if isinstance(value, dict):
        return {k: "[erased]" if k == "email" else _scrub(v, secrets, all_text) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets, all_text) for v in value]
    if isinstance(value, str) and ((all_text and not _is_id(value)) or any(s in value.lower() for s in secrets)):
        return "[erased]"
    return value


async def erase_account(db: AsyncSession, user_id: uuid.UUID) -> bool:
    """Wipe personal data, keep an anonymous row for the records that point at it. Idempotent.

    Every registered domain erases first (while the profile still says who this was), then identity; the
    files go last, through the storage layer, once every row is gone.
    """
    user = await db.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None or user.status == "deleted":
        return False
    files = [user.avatar_key] if user.avatar_key else []
    for domain in domains():
        files.extend(await domain.erase(db, user))
    await db.flush()
    old_email = user.email.lower()
    secrets = tuple({old_email, user.username.lower()})
    entries = (
        await db.scalars(
            select(AuditEntry).where(or_(AuditEntry.target_id == str(user.id), AuditEntry.actor_id == user.id))
        )
    ).all()
    for entry in entries:  # what the person did themselves (key names, ...) loses all its text
        entry.detail = _scrub(entry.detail, secrets, all_text=entry.actor_id == user.id)
        entry.ip = ""
    exports = (await db.scalars(select(DataExport).where(DataExport.user_id == user.id))).all()
    for model in (OAuthIdentity, AuthSession, RecoveryCode, EmailCode, PasswordReset, DataExport):
        await db.execute(delete(model).where(model.user_id == user.id))
    await db.execute(delete(Email).where(func.lower(Email.to) == old_email))
    user.email, user.username = f"deleted-{user.id}@invalid", f"deleted_{user.id.hex[-16:]}"
    user.display_name, user.bio, user.links, user.location = "Deleted user", "", [], ""
    user.avatar_key = user.date_of_birth = user.age_verified_at = None
    user.totp_secret = user.totp_pending_secret = user.mfa_enabled_at = user.totp_last_step = None
    user.password_hash = None
    user.is_adult, user.is_private, user.discoverable_by_email = False, True, False
    user.status, user.deleted_at = "deleted", utcnow()
    await audit.record(db, None, "user.erased", user.id)
    await db.flush()
    for export in exports:
        _delete_export_file(export)
    storage = runtime.current().storage
    for key in files:  # a failure here rolls the erasure back; the next run deletes again (idempotent)
        await asyncio.to_thread(storage.delete, key)
    return True


async def erase_due_accounts(db: AsyncSession) -> int:
    """Erase every account whose deletion grace period has ended."""
    days = runtime.current().settings.account_deletion_grace_days
    due = (
        await db.scalars(
            select(User.id).where(
                User.status == "deleting", User.deletion_requested_at <= utcnow() - dt.timedelta(days=days)
            )
        )
    ).all()
    erased = 0
    for user_id in due:
        erased += await erase_account(db, user_id)
    return erased
