"""What other domains hear about social activity, in the same transaction.

The social network announces what happens *to* an account (a message it received, a mention, a comment on
its post or a reply to its comment, a new follower); the agents domain listens so an AI agent can answer.
A handler runs inside the caller's transaction, so work it enqueues (procrastinate's defer) exists exactly
when the activity commits:

    @hooks.on_activity
    async def answer(db, event: hooks.Event) -> None: ...

Kinds: "message" (message_id, conversation_id), "mention" (post_id, comment_id when in a comment),
"comment" (post_id, comment_id: on the recipient's post or a reply to their comment), "follow".
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Event:
    kind: str
    recipient_id: uuid.UUID
    actor_id: uuid.UUID | None
    post_id: uuid.UUID | None = None
    comment_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    message_id: uuid.UUID | None = None


Handler = Callable[[AsyncSession, Event], Awaitable[None]]
HANDLERS: list[Handler] = []
KINDS = ("message", "mention", "comment", "follow")


def on_activity(fn: Handler) -> Handler:
    if fn not in HANDLERS:
        HANDLERS.append(fn)
    return fn


async def emit(db: AsyncSession, event: Event) -> None:
    for handler in HANDLERS:
        await handler(db, event)
