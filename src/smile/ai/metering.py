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


async def available(db: AsyncSession, user_id: uuid.UUID) -> int:
    return (await ledger.wallet_balance(db, user_id)).available


async def reserve(db: AsyncSession, user_id: uuid.UUID, request_id: uuid.UUID, amount: int,
                  minutes: int) -> uuid.UUID | None:
    """Hold `amount` credits for the request (None when it costs nothing). Raises InsufficientFunds (402)."""
    if amount <= 0:
        return None
    wallet = await ledger.wallet(db, user_id)
    return await ledger.hold(db, wallet, amount, key=f"ai:{request_id}", minutes=minutes,
                             reference=("ai_usage", request_id))


def _wallet_left(posted: ledger.Posted | None, revenue: uuid.UUID) -> int | None:
    return next((v for k, v in posted.available.items() if k != revenue), None) if posted else None


@dataclass
class Settled:
    charged: int
    uncharged: int  # cost the wallet could not cover (the reservation was too small and the balance is gone)


async def settle(db: AsyncSession, user_id: uuid.UUID, request_id: uuid.UUID, hold_id: uuid.UUID | None,
                 reserved: int, cost: int, model: str) -> Settled:
    """Charge exactly `cost`: from the hold, and (rarely) the excess over it straight from the wallet."""
    revenue = await ledger.platform(db, ledger.REVENUE, CREDITS)
    reference = ("ai_usage", request_id)
    memo = f"AI: {model}"
    from_hold = min(cost, reserved) if hold_id else 0
    left: int | None = None  # the wallet's available balance after the charge, when a posting told us
    if hold_id:
        try:
            posted = await ledger.capture(db, hold_id, from_hold, revenue, kind=KIND, reference=reference, memo=memo)
            left = _wallet_left(posted, revenue)
        except Conflict:  # the hold expired before the call ended: charge the wallet directly
            from_hold = 0
    rest, uncharged = cost - from_hold, 0
    if rest > 0:
        wallet = await ledger.wallet(db, user_id)
        try:
            posted = await ledger.post(db, KIND, [Leg(wallet, -rest), Leg(revenue, rest)],
                                       key=f"ai:{request_id}:rest", reference=reference, memo=memo)
            left = _wallet_left(posted, revenue)
        except (ledger.InsufficientFunds, ledger.AccountFrozen):
            uncharged = rest
    if cost - uncharged > 0:
        await credits.spent(db, user_id, available=left)
    return Settled(charged=cost - uncharged, uncharged=uncharged)


