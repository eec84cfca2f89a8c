"""Two-factor authentication API: enrol, confirm, disable, recovery codes, and the MFA login step."""

from __future__ import annotations

from fastapi import APIRouter, Request

from smile.identity.auth import DB, CurrentUser
from smile.identity.mfa import service
from smile.identity.mfa.schemas import CodeIn, LoginMfaIn, MfaSetup, MfaStatus, PasswordCodeIn, RecoveryCodes
from smile.identity.schemas import Message, Tokens
from smile.identity.sessions import client_info
from smile.kit import runtime
from smile.kit.requests import DBRoute

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["mfa"])

CODE_ERRORS = {
    422: {"description": "Wrong or expired code (counted towards a lockout)"},
    429: {"description": "Too many wrong codes: locked out for a while (see Retry-After)"},
}


@router.get("/auth/mfa", response_model=MfaStatus)
async def mfa_status(me: CurrentUser, db: DB) -> dict:
    """Whether two-factor authentication is on for me and verified on this session."""
    return await service.status(db, me)


@router.post("/auth/mfa/setup", response_model=MfaSetup, responses={409: {"description": "Already enabled"}})
async def mfa_setup(me: CurrentUser, db: DB) -> dict:
    """Start enrolment: a new secret, its otpauth URI and a QR code. Confirm with /auth/mfa/enable."""
    return await service.start_setup(db, me.user)


@router.post(
    "/auth/mfa/enable",
    response_model=RecoveryCodes,
    responses={
        **CODE_ERRORS,
        403: {"description": "No password on the account and the session is not a recent sign-in"},
        409: {"description": "Already enabled, or no set-up started"},
    },
)
async def mfa_enable(body: PasswordCodeIn, me: CurrentUser, db: DB, request: Request) -> RecoveryCodes:
    """Turn two-factor on with the password and a code from the new device. Returns 10 recovery codes, shown
    once. It does not verify this session: POST /auth/mfa/confirm does."""
    codes = await service.enable(db, me, body.password, body.code, ip=client_info(request)[1])
    return RecoveryCodes(recovery_codes=codes)


@router.post(
    "/auth/mfa/disable",
    response_model=Message,
    responses={
        **CODE_ERRORS,
        403: {"description": "Admins cannot turn two-factor off"},
        409: {"description": "Not enabled"},
    },
)
async def mfa_disable(body: PasswordCodeIn, me: CurrentUser, db: DB, request: Request) -> Message:
    """Turn two-factor off; needs the password (if the account has one) and a current code."""
    await service.disable(db, me, body.password, body.code, ip=client_info(request)[1])
    return Message(detail="Two-factor authentication is off.")


@router.post(
    "/auth/mfa/recovery-codes",
    response_model=RecoveryCodes,
    responses={**CODE_ERRORS, 409: {"description": "Not enabled"}},
)
async def mfa_recovery_codes(body: CodeIn, me: CurrentUser, db: DB, request: Request) -> RecoveryCodes:
    """Replace all recovery codes with a new set (the old ones stop working)."""
    codes = await service.regenerate_recovery_codes(db, me, body.code, ip=client_info(request)[1])
    return RecoveryCodes(recovery_codes=codes)


@router.post(
    "/auth/mfa/confirm",
    response_model=Message,
    responses={**CODE_ERRORS, 403: {"description": "Two-factor authentication is not on"}},
)
async def mfa_confirm(body: CodeIn, me: CurrentUser, db: DB) -> Message:
    """Re-check a code so that actions needing a recent second factor are allowed for a while."""
    await service.confirm(db, me, body.code)
    return Message(detail="Confirmed.")


@router.post(
    "/auth/login/mfa",
    response_model=Tokens,
    responses={**CODE_ERRORS, 401: {"description": "The challenge token expired or is invalid"}},
)
async def login_mfa(body: LoginMfaIn, db: DB, request: Request) -> Tokens:
    """Second login step: the mfa_token returned by /auth/login plus a TOTP or recovery code."""
    await runtime.current().limiter.hit(
        runtime.current().settings.rate_verify,
        "login-mfa",
        client_info(request)[1],
        message="Too many sign-in attempts.",
    )
    return await service.login_with_code(db, request, body.mfa_token, body.code)
