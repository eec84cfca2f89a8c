"""Password hashing, random tokens, token hashing, JWT and secret encryption."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-ish time: a missing hash still costs one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def new_code(digits: int = 6) -> str:
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def hash_token(token: str, secret: str = "") -> str:
    """Secrets at rest: a keyed SHA-256 (tokens are high-entropy, so no slow hash needed)."""
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def encode_jwt(claims: dict[str, Any], secret: str, minutes: int) -> str:
    now = dt.datetime.now(dt.UTC)
    payload = {**claims, "iat": now, "exp": now + dt.timedelta(minutes=minutes)}
    return jwt.encode(payload, secret, algorithm="HS256")


def decode_jwt(token: str, secret: str, purpose: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "iat"]})
    except jwt.PyJWTError:
        return None
    return claims if claims.get("typ") == purpose else None


def _fernet(secret: str) -> Fernet:
    key = hashlib.sha256(b"smile-fernet:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(value: str, secret: str) -> str:
    return _fernet(secret).encrypt(value.encode()).decode()


def decrypt(value: str, secret: str) -> str | None:
    try:
        return _fernet(secret).decrypt(value.encode()).decode()
    except InvalidToken:
        return None
