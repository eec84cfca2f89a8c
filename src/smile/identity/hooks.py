"""How other domains revoke what they issued to a person when identity revokes their sign-ins.

identity owns passwords and sessions; other domains hand out credentials of their own (hub: API
keys). When a password is reset by email, or a person signs out their other devices, identity calls
every registered handler inside the same transaction:

    @hooks.credentials_revoked
    async def revoke_keys(db, user_id, reason) -> Revocation | None: ...

`reason` is "password_reset" or "sign_out_others". A handler revokes what it owns (through its own
tables) and says what it did: Revocation("api_keys", 2, "2 API keys were revoked ..."), or None
when there was nothing to revoke.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession


class Revocation(NamedTuple):
    kind: str  # e.g. "api_keys"
    count: int
    note: str  # a sentence for the owner, for emails and pages


RevokeHandler = Callable[[AsyncSession, uuid.UUID, str], Awaitable[Revocation | None]]

REVOKE: list[RevokeHandler] = []


def credentials_revoked(fn: RevokeHandler) -> RevokeHandler:
    if fn not in REVOKE:
        REVOKE.append(fn)
    return fn


async def revoke_credentials(db: AsyncSession, user_id: uuid.UUID, reason: str) -> list[Revocation]:
    """Run every registered handler; returns what they revoked."""
    done = []
    for handler in REVOKE:
        if (revocation := await handler(db, user_id, reason)) is not None:
            done.append(revocation)
    return done
