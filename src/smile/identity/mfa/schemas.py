"""Request and response bodies for two-factor authentication."""

from __future__ import annotations

from pydantic import BaseModel, Field

Code = Field(min_length=1, max_length=64, description="A 6-digit TOTP code or a recovery code")


class MfaSetup(BaseModel):
    secret: str = Field(description="Base32 TOTP secret, for typing into an authenticator app")
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as an inline SVG QR code")


class CodeIn(BaseModel):
    code: str = Code


class PasswordCodeIn(BaseModel):
    password: str = Field(default="", max_length=200, description="Required when the account has a password")
    code: str = Code


class LoginMfaIn(BaseModel):
    mfa_token: str = Field(min_length=1, max_length=2000, description="From the /auth/login response")
    code: str = Code


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once: store them somewhere safe")


class MfaStatus(BaseModel):
    enabled: bool
    setup_pending: bool
    recovery_codes_left: int
    session_verified: bool = Field(description="This session was signed in or confirmed with a code")
    required: bool = Field(description="Two-factor authentication is mandatory for this account (admins)")
