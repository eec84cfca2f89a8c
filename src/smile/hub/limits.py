"""Per-key and per-user rate limits (requests and tokens per minute) for the gateway.

Counters live in the process-wide limiter storage (smile.kit.ratelimit): in memory, or Redis when
SMILE_REDIS_URL is set, so every process shares them. Moving one-minute windows.
"""

from __future__ import annotations

import time
import uuid

from limits import RateLimitItemPerMinute

from smile.hub.errors import OpenAIError
from smile.hub.models import ApiKey
from smile.identity.models import User
from smile.kit import runtime


class RateLimited(OpenAIError):
    def __init__(self, message: str, kind: str, retry_after: int) -> None:
        retry_after = max(1, retry_after)
        super().__init__(
            f"{message} Please try again in {retry_after}s.",
            status=429,
            code="rate_limit_exceeded",
            type=kind,
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


def _rules(key: ApiKey, user_id: uuid.UUID, tokens: int) -> list[tuple[str, str, int, str, int]]:
    """(kind, who, limit, identifier, cost) for each counter this request moves."""
    s = runtime.current().settings
    rules = [
        ("requests", "key", key.rpm_limit or s.hub_key_rpm, f"key:{key.id}", 1),
        ("requests", "user", s.hub_user_rpm, f"user:{user_id}", 1),
    ]
    if tokens > 0:
        rules += [
            ("tokens", "key", key.tpm_limit or s.hub_key_tpm, f"key:{key.id}", tokens),
            ("tokens", "user", s.hub_user_tpm, f"user:{user_id}", tokens),
        ]
    return rules


def _label(kind: str) -> str:
    return "requests per minute (RPM)" if kind == "requests" else "tokens per minute (TPM)"


async def check_rate(key: ApiKey, user: User | uuid.UUID, tokens_estimate: int = 0) -> None:
    """Count one request of about `tokens_estimate` tokens against the key's and the user's limits.

    Raises a 429 (OpenAI's shape, with Retry-After) when any limit would be passed; a refused
    request counts against none of them.
    """
    limiter = runtime.current().limiter
    if not limiter.enabled:
        return
    user_id = user.id if isinstance(user, User) else user
    tokens = max(0, int(tokens_estimate))
    rules = _rules(key, user_id, tokens)
    for kind, who, limit, _ident, cost in rules:
        if cost > limit:
            raise RateLimited(
                f"Request too large: about {cost:,} tokens, but this {who}'s limit is {limit:,} "
                f"{_label(kind)}. Send fewer tokens.",
                kind,
                60,
            )
    for kind, who, limit, ident, cost in rules:  # look first, so a refusal consumes nothing
        item = RateLimitItemPerMinute(limit)
        if not await limiter.limiter.test(item, "hub", kind, ident, cost=cost):
            await _refuse(item, kind, who, limit, ident)
    for kind, who, limit, ident, cost in rules:
        item = RateLimitItemPerMinute(limit)
        if not await limiter.limiter.hit(item, "hub", kind, ident, cost=cost):  # lost a race to another request
            await _refuse(item, kind, who, limit, ident)


async def _refuse(item, kind: str, who: str, limit: int, ident: str) -> None:
    stats = await runtime.current().limiter.limiter.get_window_stats(item, "hub", kind, ident)
    wait = int(stats.reset_time - time.time()) + 1
    raise RateLimited(f"Rate limit reached for this {who} on {_label(kind)}: limit {limit:,}.", kind, wait)
