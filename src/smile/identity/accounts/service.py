"""Sign-up, email verification, sign-in with lockout, sessions, password reset and change.

Every refusal that is not persisted (persist=False) is raised before anything is written,
so callers may render the error and let the request's transaction commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import NoReturn

from fastapi import Request, Response
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity import audit, hooks, sessions
from smile.identity.accounts.schemas import (
    LoginIn,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    RegisterIn,
    Revoked,
    SessionOut,
)
from smile.identity.auth import Principal
from smile.identity.mfa import service as mfa_service
from smile.identity.models import AuthSession, EmailCode, PasswordReset, User
from smile.identity.oauth import client as oauth_client
from smile.identity.oauth import service as oauth_service
from smile.identity.profile import service as profile_service
from smile.identity.rules import password_message, password_problems, username_problem
from smile.identity.schemas import MfaChallenge, Tokens
from smile.kit import mail, runtime
from smile.kit.db import utcnow
from smile.kit.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized
from smile.kit.ids import new_id
from smile.kit.security import hash_password, hash_token, needs_rehash, new_code, new_token, verify_password

VERIFY_PURPOSE = "verify_email"
CODE_MINUTES = 15
CODE_TRIES = 5
RESEND_SECONDS = 60
RESET_MINUTES = 60
CAN_SIGN_IN = ("active", "suspended", "deleting")  # suspended ones are told why they cannot
LOCKOUT_MESSAGE = (
    "Too many failed sign-in attempts for this account, so it is locked for now to keep it "
    "safe. Resetting your password unlocks it at once."
)


def _settings():
    return runtime.current().settings


def _limiter():
    return runtime.current().limiter


def _lockout_rule() -> str:
    s = _settings()
    return f"{s.lockout_failures}/{s.lockout_minutes} minutes"


def _lockout_key(user: User | None, login: str) -> tuple[str, str]:
    return ("login", str(user.id)) if user else ("login", "unknown:" + login.lower())


def _code_hash(user_id: uuid.UUID, code: str) -> str:
    return hash_token(f"{user_id}:{code}", _settings().secret_key)


# Sign-up and email verification


async def register(db: AsyncSession, body: RegisterIn, ip: str) -> User:
    await _limiter().hit(_settings().rate_register, "register", ip, message="Too many sign-ups from your network.")
    username, email = body.username.lower(), str(body.email)
    fields: dict[str, str] = {}
    if problem := username_problem(username):
        fields["username"] = problem
    if problems := password_problems(body.password, username=username, email=email):
        fields["password"] = password_message(problems)
    if body.account_type == "ai_agent":
        fields["account_type"] = (
            "AI agent accounts are created by their owners from their own account, "
            "not by signing up. Choose person or business."
        )
    if not body.accept_terms:
        fields["accept_terms"] = "Accept the terms of service to create an account."
    messages = list(fields.values())
    if body.date_of_birth is not None:
        try:
            profile_service.check_minimum_age(body.date_of_birth)
        except Invalid as exc:
            fields.update(exc.fields)
            messages.append(exc.message)
    if fields:
        raise Invalid(" ".join(messages), fields=fields)
    taken = await _taken(db, email, username)
    if taken:
        raise Conflict(" ".join(taken.values()), fields=taken)
    user = User(
        email=email,
        username=username,
        display_name=body.display_name,
        password_hash=hash_password(body.password),
        account_type=body.account_type,
        date_of_birth=body.date_of_birth,
        terms_accepted_at=utcnow(),
    )
    try:
        async with db.begin_nested():
            db.add(user)
            await db.flush()
    except IntegrityError:  # a concurrent sign-up took the name between the check and the insert
        raise Conflict(
            "That email address or username was just taken. Try another.",
            fields={"username": "This username or email is taken."},
        ) from None
    await _send_code(db, user)
    await audit.record(db, user.id, "account.register", user.id, ip=ip, account_type=user.account_type)
    return user


async def _taken(db: AsyncSession, email: str, username: str) -> dict[str, str]:
    rows = (
        await db.execute(
            select(func.lower(User.email), func.lower(User.username)).where(
                or_(func.lower(User.email) == email.lower(), func.lower(User.username) == username)
            )
        )
    ).all()
    taken: dict[str, str] = {}
    if any(row[0] == email.lower() for row in rows):
        taken["email"] = "An account with this email address already exists. Log in or reset your password."
    if any(row[1] == username for row in rows):
        taken["username"] = "This username is taken; choose another."
    return taken


async def _send_code(db: AsyncSession, user: User) -> None:
    """Issue a fresh code (earlier unused codes stop working) and email it."""
    await db.execute(
        delete(EmailCode).where(
            EmailCode.user_id == user.id, EmailCode.purpose == VERIFY_PURPOSE, EmailCode.used_at.is_(None)
        )
    )
    code = new_code()
    db.add(
        EmailCode(
            user_id=user.id,
            purpose=VERIFY_PURPOSE,
            code_hash=_code_hash(user.id, code),
            expires_at=utcnow() + dt.timedelta(minutes=CODE_MINUTES),
        )
    )
    await mail.send(
        db,
        user.email,
        "Your smile verification code",
        f"Hi {user.display_name},\n\nYour verification code is {code}\n\n"
        f"Enter it at {_settings().base_url}/verify-email within {CODE_MINUTES} minutes.\n"
        "If you did not sign up for smile, ignore this email.\n",
    )


async def verify_email(db: AsyncSession, user: User, code: str) -> User:
    await _limiter().hit(_settings().rate_verify, "verify", str(user.id), message="Too many code attempts.")
    code = "".join(code.split())
    row = await db.scalar(
        select(EmailCode)
        .where(EmailCode.user_id == user.id, EmailCode.purpose == VERIFY_PURPOSE)
        .order_by(EmailCode.created_at.desc(), EmailCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    matches = row is not None and row.code_hash == _code_hash(user.id, code)
    if row is not None and row.used_at is not None and matches:
        _bad_code("This code has already been used.", "code_used")
    if row is None or row.used_at is not None:
        if user.email_verified:
            raise Conflict("Your email address is already verified.", code="already_verified")
        _bad_code("There is no active code for your account. Ask for a new code.", "code_missing")
    if row.attempts >= CODE_TRIES:
        _bad_code("This code was entered wrongly too many times and no longer works. Ask for a new code.", "code_dead")
    if row.expires_at <= utcnow():
        _bad_code(f"This code has expired (codes last {CODE_MINUTES} minutes). Ask for a new code.", "code_expired")
    if not matches:
        row.attempts += 1
        await db.flush()
        left = CODE_TRIES - row.attempts
        if left == 0:
            _bad_code(
                f"That code is not right. It has now been tried {CODE_TRIES} times and no longer works; "
                "ask for a new code.",
                "code_dead",
                persist=True,
            )
        _bad_code(f"That code is not right. {left} {'try' if left == 1 else 'tries'} left.", "code_wrong", persist=True)
    row.used_at = utcnow()
    user.email_verified_at = user.email_verified_at or utcnow()
    await db.flush()
    await audit.record(db, user.id, "account.verify_email", user.id)
    return user


def _bad_code(message: str, code: str, persist: bool = False) -> NoReturn:
    raise Invalid(message, code=code, fields={"code": message}, persist=persist)


async def resend_code(db: AsyncSession, user: User) -> None:
    if user.email_verified:
        raise Conflict("Your email address is already verified.", code="already_verified")
    await db.execute(select(User.id).where(User.id == user.id).with_for_update())  # one resend at a time
    last = await db.scalar(
        select(func.max(EmailCode.created_at)).where(EmailCode.user_id == user.id, EmailCode.purpose == VERIFY_PURPOSE)
    )
    if last is not None:
        wait = RESEND_SECONDS - int((utcnow() - last).total_seconds())
        if wait > 0:
            raise TooManyRequests(
                f"We sent a code less than a minute ago. You can ask for another in {wait} seconds.", retry_after=wait
            )
    await _send_code(db, user)


# Sign-in


async def authenticate(db: AsyncSession, login: str, password: str, ip: str) -> User:
    """The user whose password this is, under per-IP rate limits and per-account lockout."""
    limiter, rule = _limiter(), _lockout_rule()
    await limiter.hit(_settings().rate_login, "login-ip", ip, message="Too many sign-in attempts from your network.")
    login = login.strip()
    user = await db.scalar(
        select(User).where(
            or_(func.lower(User.email) == login.lower(), func.lower(User.username) == login.lower()),
            User.status.in_(CAN_SIGN_IN),
        )
    )
    key = _lockout_key(user, login)
    await limiter.check_lockout(rule, *key, message=LOCKOUT_MESSAGE)
    if not verify_password(user.password_hash if user else None, password):
        await limiter.record_failure(rule, *key)
        try:
            await limiter.check_lockout(rule, *key, message=LOCKOUT_MESSAGE)
        except TooManyRequests as locked:
            if user is not None:
                await audit.record(db, None, "auth.lockout", user.id, ip=ip)
            locked.persist = True
            raise
        raise Unauthorized("Wrong email, username or password.", code="invalid_credentials")
    await limiter.clear_failures(rule, *key)
    if user.status == "suspended":
        raise Forbidden(
            "This account is suspended, so it cannot sign in. Contact support if you think this is a mistake.",
            code="suspended",
        )
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


async def login(db: AsyncSession, body: LoginIn, request: Request) -> Tokens | MfaChallenge:
    user = await authenticate(db, body.login, body.password, sessions.client_info(request)[1])
    if user.mfa_enabled:
        return MfaChallenge(mfa_token=sessions.mfa_challenge_token(user))
    tokens = await sessions.issue_api_session(db, user, request)
    await audit.record(db, user.id, "auth.login", user.id, ip=sessions.client_info(request)[1], via="api")
    return tokens


async def start_browser_session(
    db: AsyncSession, user: User, request: Request, response: Response, mfa: bool = False
) -> AuthSession:
    session = await sessions.issue_browser_session(db, user, request, response, mfa=mfa)
    await audit.record(db, user.id, "auth.login", user.id, ip=session.ip, via="browser", mfa=mfa)
    return session


async def mfa_pending_user(db: AsyncSession, mfa_token: str) -> User:
    """The user who passed the password step and still owes a second factor."""
    user = await db.get(User, sessions.read_mfa_challenge(mfa_token))
    if user is None or user.status not in ("active", "deleting") or not user.mfa_enabled:
        raise Unauthorized("The sign-in step expired. Enter your password again.", code="mfa_token_invalid")
    return user


async def check_second_factor(db: AsyncSession, user: User, code: str) -> None:
    """A TOTP or recovery code; wrong ones count towards the two-factor lockout (kept: persist)."""
    if not await mfa_service.check_code(db, user, code):
        message = "That code is not right. Use the current code from your app, or an unused recovery code."
        raise Invalid(message, code="mfa_code_wrong", fields={"code": message}, persist=True)


async def refresh(db: AsyncSession, refresh_token: str) -> Tokens:
    return await sessions.rotate(db, refresh_token)


# Sessions


async def logout(db: AsyncSession, principal: Principal, ip: str) -> None:
    await sessions.revoke(db, principal.session.id, reason="logout")
    await audit.record(db, principal.id, "auth.logout", principal.id, ip=ip, session_id=str(principal.session.id))


async def list_sessions(db: AsyncSession, principal: Principal) -> list[SessionOut]:
    return [
        SessionOut(
            id=s.id,
            kind=s.kind,
            user_agent=s.user_agent,
            ip=s.ip,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            current=s.id == principal.session.id,
        )
        for s in await sessions.list_active(db, principal.id)
    ]


async def revoke_session(db: AsyncSession, principal: Principal, session_id: uuid.UUID, ip: str) -> None:
    found = await db.scalar(
        select(AuthSession.id).where(
            AuthSession.id == session_id,
            AuthSession.user_id == principal.id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utcnow(),
        )
    )
    if found is None:
        raise NotFound("No such session: it may already be signed out.")
    await sessions.revoke(db, session_id, reason="revoked_by_user")
    await audit.record(db, principal.id, "sessions.revoke", principal.id, ip=ip, session_id=str(session_id))


async def revoke_other_sessions(db: AsyncSession, principal: Principal, ip: str) -> Revoked:
    """Sign out every other device, and revoke the API keys (they are devices too: scripts, apps)."""
    count = await sessions.revoke_all(db, principal.id, except_id=principal.session.id)
    revoked = await hooks.revoke_credentials(db, principal.id, "sign_out_others")
    await audit.record(db, principal.id, "sessions.revoke_others", principal.id, ip=ip, count=count)
    keys = sum(r.count for r in revoked if r.kind == "api_keys")
    devices = (
        f"Signed out {count} other device{'s' if count != 1 else ''}." if count else "No other devices were signed in."
    )
    return Revoked(revoked=count, api_keys_revoked=keys, detail=" ".join([devices, *(r.note for r in revoked)]))


# Passwords


async def request_password_reset(db: AsyncSession, email: str, ip: str) -> None:
    """Email a single-use reset link if the account exists; the answer is the same either way."""
    s, limiter = _settings(), _limiter()
    message = "Too many password reset requests."
    await limiter.hit(s.rate_password_reset, "reset-ip", ip, message=message)
    await limiter.hit(s.rate_password_reset, "reset-email", email.lower(), message=message)
    user = await db.scalar(select(User).where(func.lower(User.email) == email.lower(), User.status.in_(CAN_SIGN_IN)))
    if user is None:
        return
    token = new_token()
    db.add(
        PasswordReset(
            user_id=user.id,
            token_hash=hash_token(token, s.secret_key),
            expires_at=utcnow() + dt.timedelta(minutes=RESET_MINUTES),
        )
    )
    await db.flush()
    await mail.send(
        db,
        user.email,
        "Reset your password",
        f"Hi {user.display_name},\n\nSomeone (hopefully you) asked to reset your smile password. "
        f"Choose a new one here:\n\n{s.base_url}/password-reset/confirm?token={token}\n\n"
        f"The link works once, for {RESET_MINUTES} minutes. If you did not ask, ignore this email: "
        f"your password stays as it is.\n{await _linked_logins_note(db, user)}",
    )


async def _linked_logins_note(db: AsyncSession, user: User) -> str:
    """For the reset email: which sign-in providers can open this account, and which the reset removes."""
    identities = await oauth_service.list_identities(db, user.id)
    if not identities:
        return ""
    doubtful = {i.id for i in await oauth_service.unverified_links(db, user)}
    names = ", ".join(oauth_client.label(i.provider) + (f" ({i.email})" if i.email else "") for i in identities)
    note = f"\nYou can also sign in to this account with: {names}.\n"
    if doubtful:
        gone = ", ".join(oauth_client.label(i.provider) for i in identities if i.id in doubtful)
        note += (
            f"Resetting the password unlinks {gone}: it was linked before this email address was verified, "
            "so it may not be yours. If it is, link it again afterwards in your security settings.\n"
        )
    return note


async def _reset_row(db: AsyncSession, token: str) -> PasswordReset | None:
    row = await db.scalar(
        select(PasswordReset)
        .where(PasswordReset.token_hash == hash_token(token, _settings().secret_key))
        .with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


async def reset_token_valid(db: AsyncSession, token: str) -> bool:
    return bool(token) and await _reset_row(db, token) is not None


async def confirm_password_reset(db: AsyncSession, body: PasswordResetConfirmIn, ip: str) -> User:
    row = await _reset_row(db, body.token)
    user = await db.get(User, row.user_id) if row else None
    if row is None or user is None or user.status not in CAN_SIGN_IN:
        message = (
            f"This reset link does not work any more: links work once, for {RESET_MINUTES} minutes. Ask for a new one."
        )
        raise Invalid(message, code="reset_link_invalid", fields={"token": message})
    if problems := password_problems(body.password, username=user.username, email=user.email):
        raise Invalid(password_message(problems), fields={"password": password_message(problems)})
    user.password_hash = hash_password(body.password)
    unlinked = await oauth_service.drop_unverified_links(db, user, ip=ip)  # before the address counts as verified
    user.email_verified_at = user.email_verified_at or utcnow()  # the link proved the address
    await db.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    )
    count = await sessions.revoke_all(db, user.id, reason="password_reset")
    revoked = await hooks.revoke_credentials(db, user.id, "password_reset")
    await _limiter().clear_failures(_lockout_rule(), *_lockout_key(user, ""))
    await audit.record(db, user.id, "password.reset", user.id, ip=ip, sessions_revoked=count)
    notes = [r.note for r in revoked]
    if unlinked:
        notes.append(
            f"We unlinked {', '.join(oauth_client.label(p) for p in unlinked)} from your account: it was "
            "linked before your email address was verified, so it may not be yours. If it is, link it "
            f"again at {_settings().base_url}/settings/security."
        )
    await _password_changed_email(db, user, notes)
    return user


async def change_password(db: AsyncSession, principal: Principal, body: PasswordChangeIn, ip: str) -> int:
    """Set a new password; signs out every other session. Returns how many were signed out."""
    user = principal.user
    await _limiter().hit(
        _settings().rate_verify, "password-change", str(user.id), message="Too many password change attempts."
    )
    fields: dict[str, str] = {}
    if user.password_hash and not verify_password(user.password_hash, body.current_password):
        fields["current_password"] = "That is not your current password."
    if problems := password_problems(body.new_password, username=user.username, email=user.email):
        fields["new_password"] = password_message(problems)
    if fields:
        raise Invalid(" ".join(fields.values()), fields=fields)
    user.password_hash = hash_password(body.new_password)
    count = await sessions.revoke_all(db, user.id, except_id=principal.session.id, reason="password_changed")
    await audit.record(db, user.id, "password.change", user.id, ip=ip, sessions_revoked=count)
    await _password_changed_email(db, user)
    return count


async def _password_changed_email(db: AsyncSession, user: User, notes: list[str] | None = None) -> None:
    extra = "".join(f"{note}\n" for note in notes or [])
    await mail.send(
        db,
        user.email,
        "Your smile password was changed",
        f"Hi {user.display_name},\n\nThe password of your smile account @{user.username} was just "
        f"changed, and your other devices were signed out.\n{extra}If this was not you, reset your "
        f"password now at {_settings().base_url}/password-reset and contact support.\n",
    )


# AI agent accounts (created by the agents domain for their owner)


async def create_agent_account(
    db: AsyncSession, owner: User, username: str, display_name: str, bio: str = "", language: str = "en"
) -> User:
    """A user account with account_type 'ai_agent' run by `owner`: no password and no mailbox (it never signs
    in; it acts through the services). 422 names a bad username; 409 a taken one."""
    username = username.lower().strip()
    if owner.is_ai:
        raise Invalid("An AI agent cannot create agents.", fields={"owner": "is an AI agent"})
    if problem := username_problem(username):
        raise Invalid(problem, fields={"handle": problem})
    user_id = new_id()
    email = f"agent-{user_id.hex}@agents.invalid"  # .invalid: nothing can ever be sent there
    if (await _taken(db, email, username)).get("username"):
        raise Conflict("This handle is taken; choose another.", fields={"handle": "taken"})
    user = User(
        id=user_id,
        email=email,
        username=username,
        display_name=display_name.strip() or username,
        bio=bio,
        language=language,
        account_type="ai_agent",
        owner_id=owner.id,
        roles=["user"],
        timezone=owner.timezone,
        email_verified_at=utcnow(),
        terms_accepted_at=utcnow(),
        is_adult=True,
    )
    try:
        async with db.begin_nested():
            db.add(user)
            await db.flush()
    except IntegrityError:
        raise Conflict("This handle was just taken; choose another.", fields={"handle": "taken"}) from None
    await audit.record(db, owner.id, "agent.create", user.id, username=username)
    return user
