"""Rate limits and lockouts on the `limits` library: in memory, or Redis when configured."""

from __future__ import annotations

import time

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from smile.kit.errors import TooManyRequests


class RateLimiter:
    def __init__(self, redis_url: str | None, enabled: bool = True) -> None:
        if redis_url:
            # redis-py (a declared dependency) rather than limits' default coredis client
            scheme = "redis+" if redis_url.startswith("unix://") else ""
            self.storage = storage_from_string(f"async+{scheme}{redis_url}", implementation="redispy")
        else:
            self.storage = storage_from_string("async+memory://")
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.enabled = enabled

    async def hit(self, rule: str, *key: str, message: str = "Too many requests.") -> None:
        """Count one request against `rule` (e.g. "10/minute"); raise 429 when over."""
        if not self.enabled:
            return
        item = parse(rule)
        if not await self.limiter.hit(item, "rl", *key):
            wait = await self._wait(item, "rl", *key)
            raise TooManyRequests(f"{message} Try again in {wait} seconds.", retry_after=wait)

    async def check_lockout(self, rule: str, *key: str, message: str) -> None:
        """Raise 429 while `key` has used up its failures under `rule`."""
        if not self.enabled:
            return
        item = parse(rule)
        if not await self.limiter.test(item, "lock", *key):
            wait = await self._wait(item, "lock", *key)
            when = f"{-(-wait // 60)} minutes" if wait >= 60 else f"{wait} seconds"
            raise TooManyRequests(f"{message} Try again in {when}.", retry_after=wait, code="locked_out")

    async def record_failure(self, rule: str, *key: str) -> None:
        if self.enabled:
            await self.limiter.hit(parse(rule), "lock", *key)

    async def clear_failures(self, rule: str, *key: str) -> None:
        if self.enabled:
            await self.limiter.clear(parse(rule), "lock", *key)

    async def reset(self) -> None:
        await self.storage.reset()

    async def _wait(self, item, *key: str) -> int:
        stats = await self.limiter.get_window_stats(item, *key)
        return max(1, int(stats.reset_time - time.time()) + 1)
