"""API key secrets: "sk-smile-" plus 256 random bits, stored only as a keyed hash."""

from __future__ import annotations

import re
import secrets

from smile.kit.security import hash_token

PREFIX = "sk-smile-"
_SHAPE = re.compile(r"^sk-smile-[A-Za-z0-9_-]{43}$")


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def well_formed(secret: str) -> bool:
    return bool(_SHAPE.match(secret))


def hash_secret(secret: str, app_secret: str) -> str:
    """The keyed SHA-256 (smile.kit.security.hash_token) that is stored and looked up."""
    return hash_token(secret, app_secret)


def hint(secret: str) -> str:
    """Enough of the secret for a person to recognise the key, far too little to use it."""
    body = secret.removeprefix(PREFIX)
    return f"{PREFIX}{body[:4]}…{body[-4:]}"
