"""Two-factor authentication: TOTP enrolment, codes, recovery codes, and the MFA login step."""

from __future__ import annotations

import datetime as dt
import re
import secrets

import pyotp
import qrcode
import qrcode.image.svg
from fastapi import Request
from pyotp.exceptions import OTPVerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from smile.identity import audit, sessions
from smile.identity.auth import Principal
from smile.identity.models import RecoveryCode, User
from smile.identity.schemas import Tokens
from smile.kit import mail, runtime
from smile.kit.db import utcnow
from smile.kit.errors import Conflict, Forbidden, Invalid, Unauthorized
from smile.kit.security import decrypt, encrypt, hash_token, verify_password

ISSUER = "smile"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
WRONG_CODE = "That code is not right. Enter the current 6-digit code from your app, or a recovery code."


def _secret() -> str:
    return runtime.current().settings.secret_key


def _lockout_rule() -> str:
    s = runtime.current().settings
    return f"{s.lockout_failures}/{s.lockout_minutes} minutes"


async def _check_lockout(user: User) -> None:
    await runtime.current().limiter.check_lockout(
        _lockout_rule(), "mfa", str(user.id), message="Too many wrong two-factor codes."
    )


async def _failed(db: AsyncSession, user: User, ip: str = "", what: str = "code") -> None:
    """Count a wrong code (or password) towards the account's two-factor lockout, and audit it."""
    await runtime.current().limiter.record_failure(_lockout_rule(), "mfa", str(user.id))
    await audit.record(db, user.id, f"mfa.{what}_failed", user.id, ip=ip)


async def _succeeded(user: User) -> None:
    await runtime.current().limiter.clear_failures(_lockout_rule(), "mfa", str(user.id))


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _totp(encrypted: str | None) -> pyotp.TOTP | None:
    plain = decrypt(encrypted, _secret()) if encrypted else None
    return pyotp.TOTP(plain) if plain else None


def qr_svg(uri: str) -> str:
    """An inline SVG QR code for an otpauth:// URI."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _matching_step(totp: pyotp.TOTP, code: str) -> int | None:
    """The time step (previous, current or next) whose code this is, or None."""
    if not re.fullmatch(r"\d{6}", code):
        return None
    try:
        return totp.verify_and_get_timecode(code, valid_window=1)
    except OTPVerificationError:
        return None


async def _totp_matches(db: AsyncSession, user: User, totp: pyotp.TOTP, code: str) -> bool:
    """A current code whose time step is newer than the last one accepted (no replay)."""
    step = _matching_step(totp, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    claimed = await db.execute(
        update(User)
        .where(User.id == user.id, (User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step)
    )
    if claimed.rowcount != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


async def _use_recovery_code(db: AsyncSession, user: User, code: str) -> bool:
    claimed = await db.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.used_at.is_(None),
            RecoveryCode.code_hash == hash_token(code, _secret()),
        )
        .values(used_at=utcnow())
    )
    return claimed.rowcount == 1


async def check_code(db: AsyncSession, user: User, code: str) -> bool:
    """True for a valid TOTP code (not replayed) or an unused recovery code, which is then spent.

    Wrong codes count towards a lockout (429 raised while locked out) and are audited.
    """
    await _check_lockout(user)
    code = _normalise(code)
    totp = _totp(user.totp_secret)
    ok = False
    if totp is not None and user.mfa_enabled:
        if re.fullmatch(r"\d{6}", code):
            ok = await _totp_matches(db, user, totp, code)
        elif re.fullmatch(r"[a-z0-9]{10}", code):
            ok = await _use_recovery_code(db, user, code)
    if ok:
        await _succeeded(user)
    else:
        await _failed(db, user)
    return ok


async def require_code(db: AsyncSession, user: User, code: str) -> None:
    """check_code, raising a 422 (kept: the failure is counted) when the code is wrong."""
    if not await check_code(db, user, code):
        raise Invalid(WRONG_CODE, code="mfa_code_invalid", fields={"code": "wrong or expired code"}, persist=True)


async def _notify(db: AsyncSession, user: User, subject: str, what: str) -> None:
    base = runtime.current().settings.base_url
    await mail.send(
        db,
        user.email,
        subject,
        f"Hi {user.display_name},\n\n{what}\n\nIf this was not you, reset your password now and "
        f"review your security settings: {base}/settings/security\n",
    )


async def _new_recovery_codes(db: AsyncSession, user: User) -> list[str]:
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    db.add_all(RecoveryCode(user_id=user.id, code_hash=hash_token(_normalise(c), _secret())) for c in codes)
    await db.flush()
    return codes


async def start_setup(db: AsyncSession, user: User) -> dict[str, str]:
    """Create a pending TOTP secret; it becomes active once a code from it is confirmed."""
    if user.mfa_enabled:
        raise Conflict(
            "Two-factor authentication is already on. Turn it off first to enrol a new device.",
            code="mfa_already_enabled",
        )
    secret = pyotp.random_base32()
    user.totp_pending_secret = encrypt(secret, _secret())
    await db.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": qr_svg(uri)}


def pending_setup(user: User) -> dict[str, str] | None:
    """The enrolment in progress (for redisplaying the QR code), if any."""
    totp = _totp(user.totp_pending_secret)
    if totp is None or user.mfa_enabled:
        return None
    uri = totp.provisioning_uri(name=user.email, issuer_name=ISSUER)
    return {"secret": totp.secret, "otpauth_uri": uri, "qr_svg": qr_svg(uri)}


async def _check_password(db: AsyncSession, principal: Principal, password: str, ip: str, what: str) -> None:
    """The account's password (a wrong one counts towards the two-factor lockout).

    An account without a password proves it is its owner by a recent sign-in (with its provider)
    instead: a stolen access token of an older session is not enough.
    """
    user = principal.user
    if user.password_hash is None:
        minutes = runtime.current().settings.recent_mfa_minutes
        if utcnow() - principal.session.created_at > dt.timedelta(minutes=minutes):
            raise Forbidden(
                f"Sign out and sign in again, then {what} within {minutes} minutes of signing in.",
                code="reauthentication_required",
            )
        return
    if not password:
        raise Invalid(f"Enter your password to {what}.", code="password_required", fields={"password": "required"})
    if not verify_password(user.password_hash, password):
        await _failed(db, user, ip, what="password")
        raise Invalid(
            "Your password is not right.", code="wrong_password", fields={"password": "wrong password"}, persist=True
        )


async def enable(db: AsyncSession, principal: Principal, password: str, code: str, ip: str = "") -> list[str]:
    """Confirm the pending secret with the password and a code; returns the recovery codes (shown once).

    Turning two-factor on is not a fresh two-factor check of the session (POST /auth/mfa/confirm is), so a
    stolen session cannot enable it and at once pass the recent-check guard of money operations.
    """
    user = principal.user
    if user.mfa_enabled:
        raise Conflict("Two-factor authentication is already on.", code="mfa_already_enabled")
    totp = _totp(user.totp_pending_secret)
    if totp is None:
        raise Conflict(
            "Start the set-up first (POST /api/v1/auth/mfa/setup) to get a QR code.", code="mfa_setup_missing"
        )
    await _check_lockout(user)
    await _check_password(db, principal, password, ip, "turn on two-factor authentication")
    step = _matching_step(totp, _normalise(code))
    if step is None:
        await _failed(db, user, ip)
        raise Invalid(
            "That code does not match. Check your device's clock and enter the current code.",
            code="mfa_code_invalid",
            fields={"code": "wrong or expired code"},
            persist=True,
        )
    await _succeeded(user)
    user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, None
    user.totp_last_step = step
    user.mfa_enabled_at = utcnow()
    codes = await _new_recovery_codes(db, user)
    await audit.record(db, user.id, "mfa.enabled", user.id, ip=ip)
    await _notify(
        db,
        user,
        "Two-factor authentication is on",
        "Two-factor authentication was turned on for your smile account: signing in now also "
        "needs a code from the authenticator app.",
    )
    return codes


async def disable(db: AsyncSession, principal: Principal, password: str, code: str, ip: str = "") -> None:
    user = principal.user
    if not user.mfa_enabled:
        raise Conflict("Two-factor authentication is not on.", code="mfa_not_enabled")
    if user.is_admin:
        raise Forbidden(
            "Admins must keep two-factor authentication on. Ask another admin to remove "
            "your admin role first if you really need to turn it off.",
            code="mfa_required_for_admin",
        )
    await _check_lockout(user)
    if user.password_hash is not None:
        await _check_password(db, principal, password, ip, "turn off two-factor authentication")
    await require_code(db, user, code)
    user.totp_secret = user.totp_pending_secret = None
    user.mfa_enabled_at = None
    user.totp_last_step = None
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    await audit.record(db, user.id, "mfa.disabled", user.id, ip=ip)
    await _notify(
        db,
        user,
        "Two-factor authentication was turned off",
        "Two-factor authentication was turned off for your smile account.",
    )


async def regenerate_recovery_codes(db: AsyncSession, principal: Principal, code: str, ip: str = "") -> list[str]:
    user = principal.user
    if not user.mfa_enabled:
        raise Conflict("Turn on two-factor authentication first.", code="mfa_not_enabled")
    await require_code(db, user, code)
    codes = await _new_recovery_codes(db, user)
    await audit.record(db, user.id, "mfa.recovery_codes_regenerated", user.id, ip=ip)
    return codes


async def confirm(db: AsyncSession, principal: Principal, code: str) -> None:
    """Mark the current session as recently verified with a second factor."""
    if not principal.user.mfa_enabled:
        raise Forbidden("Turn on two-factor authentication first.", code="mfa_enrolment_required")
    await require_code(db, principal.user, code)
    principal.session.mfa_at = utcnow()
    await db.flush()


async def remaining_recovery_codes(db: AsyncSession, user: User) -> int:
    return (
        await db.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


async def login_with_code(db: AsyncSession, request: Request, mfa_token: str, code: str) -> Tokens:
    """Second login step for the API: the challenge token from /auth/login plus a code."""
    user = await db.get(User, sessions.read_mfa_challenge(mfa_token))
    if user is None or user.status in ("suspended", "deleted") or not user.mfa_enabled:
        raise Unauthorized("This account cannot sign in. Enter your password again.", code="mfa_token_invalid")
    ip = sessions.client_info(request)[1]
    await require_code(db, user, code)
    tokens = await sessions.issue_api_session(db, user, request, mfa=True)
    await audit.record(db, user.id, "auth.login", user.id, ip=ip, via="api", mfa=True)
    return tokens


async def status(db: AsyncSession, principal: Principal) -> dict[str, bool | int]:
    user = principal.user
    return {
        "enabled": user.mfa_enabled,
        "setup_pending": user.totp_pending_secret is not None and not user.mfa_enabled,
        "recovery_codes_left": await remaining_recovery_codes(db, user) if user.mfa_enabled else 0,
        "session_verified": principal.session.mfa_at is not None,
        "required": user.is_admin,
    }
