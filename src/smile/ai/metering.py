"""Credits for AI calls: reserve the worst case before, settle the exact cost once after.

The reservation is a ledger hold (a conditional UPDATE that cannot overdraw); settlement captures
the exact cost from it (kind `ai_usage`, to the platform's REVENUE) and releases the rest.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from smile.ai.catalog import MILLION, Model
from smile.ai.types import Usage
from smile.billing.credits import service as credits
from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import CREDITS, Leg
from smile.config import Settings
from smile.kit.db import Last
from smile.kit.errors import Conflict

KIND = "ai_usage"


def worst_case(chain: list[Model], prompt_tokens: int, max_tokens: int) -> int:
    """The most any model of the chain could cost for this prompt and max_tokens."""
    return max(m.cost(Usage(prompt_tokens, max_tokens)) for m in chain)


def affordable_max_tokens(chain: list[Model], prompt_tokens: int, available: int, cap: int) -> int:
    """The largest max_tokens (<= cap) whose worst case fits in `available` credits (0 if none does)."""
    best = cap
    for m in chain:
        budget = available * MILLION - prompt_tokens * m.input_credits_per_m
        if budget < 0:
            return 0
        if m.output_credits_per_m:
            best = min(best, budget // m.output_credits_per_m)
    return max(0, best)


def injected_max_tokens(chain: list[Model], prompt_tokens: int, available: int, settings: Settings) -> int:
    """The max_tokens for a request that gave none: the most `available` credits cover on every model of the
    chain, at most SMILE_AI_DEFAULT_MAX_TOKENS and what the smallest context window leaves after the prompt
    (0 when not even one token is covered). The one place this budget is computed."""
    room = min(m.context_window for m in chain) - prompt_tokens
    cap = max(1, min(settings.ai_default_max_tokens, room))
    return affordable_max_tokens(chain, prompt_tokens, available, cap)


async def available(db: AsyncSession, user_id: uuid.UUID) -> int:
    return (await ledger.wallet_balance(db, user_id)).available


async def reserve(
    db: AsyncSession, user_id: uuid.UUID, request_id: uuid.UUID, amount: int, minutes: int
) -> uuid.UUID | None:
    """Hold `amount` credits for the request (None when it costs nothing). Raises InsufficientFunds (402)."""
    if amount <= 0:
        return None
    wallet = await ledger.wallet(db, user_id)
    return await ledger.hold(
        db, wallet, amount, key=f"ai:{request_id}", minutes=minutes, reference=("ai_usage", request_id)
    )


@dataclass
class Reservation:
    hold_id: uuid.UUID
    wallet: uuid.UUID
    queued: Last


async def reserve_at_commit(
    db: AsyncSession, user_id: uuid.UUID, request_id: uuid.UUID, amount: int, minutes: int
) -> Reservation:
    """reserve(), made with the COMMIT (commit with kit.db.commit; `queued.row` is None after it when the
    wallet could not cover the amount, and ledger.refusal says why)."""
    wallet = await ledger.wallet(db, user_id)
    hold_id, queued = ledger.hold_at_commit(
        db, wallet, amount, key=f"ai:{request_id}", minutes=minutes, reference=("ai_usage", request_id)
    )
    return Reservation(hold_id, wallet, queued)


@dataclass
class Settled:
    charged: int
    uncharged: int  # cost the wallet could not cover (the reservation was too small and the balance is gone)
    left: int | None = None  # the wallet's balance - held after the charge, when a posting told us
    later: Last | None = None  # or the wallet's UPDATE queued for the COMMIT, whose row tells it then

    def wallet_left(self) -> int | None:
        return self.later.row[0] if self.later is not None and self.later.row is not None else self.left


async def settle(
    db: AsyncSession,
    user_id: uuid.UUID,
    request_id: uuid.UUID,
    hold_id: uuid.UUID | None,
    reserved: int,
    cost: int,
    model: str,
) -> Settled:
    """Charge exactly `cost`: from the hold, and (rarely) the excess over it straight from the wallet.

    The capture's account UPDATEs go with the COMMIT: the caller commits with kit.db.commit(db), then calls
    `after_commit` for the low-balance notice.
    """
    revenue = await ledger.platform(db, ledger.REVENUE, CREDITS)
    reference = ("ai_usage", request_id)
    memo = f"AI: {model}"
    from_hold = min(cost, reserved) if hold_id else 0
    done = Settled(charged=0, uncharged=0)
    if hold_id:
        try:
            posted = await ledger.capture(
                db, hold_id, from_hold, revenue, kind=KIND, reference=reference, memo=memo, last=True
            )
            done.later = next((q for k, q in posted.last.items() if k != revenue), None) if posted else None
        except Conflict:  # the hold expired before the call ended: charge the wallet directly
            from_hold = 0
    rest = cost - from_hold
    if rest > 0:
        wallet = await ledger.wallet(db, user_id)
        try:
            posted = await ledger.post(
                db,
                KIND,
                [Leg(wallet, -rest), Leg(revenue, rest)],
                key=f"ai:{request_id}:rest",
                reference=reference,
                memo=memo,
            )
            done.left, done.later = posted.available.get(wallet), None
        except (ledger.InsufficientFunds, ledger.AccountFrozen):
            done.uncharged = rest
    done.charged = cost - done.uncharged
    return done


async def after_commit(db_factory, user_id: uuid.UUID, done: Settled) -> None:
    """The low-balance notice, in its own transaction and only when the balance may have crossed the mark."""
    if done.charged > 0 and credits.may_be_low(left := done.wallet_left()):
        async with db_factory() as db:
            await credits.spent(db, user_id, available=left)
