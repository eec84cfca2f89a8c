"""Rate limits and lockouts, in memory and (when available) shared through real Redis."""

import asyncio
import os
import uuid

import pytest

from smile.kit.errors import TooManyRequests
from smile.kit.ratelimit import RateLimiter

REDIS_URL = os.environ.get("SMILE_TEST_REDIS_AVAILABLE_URL")


async def _hits_until_refused(limiter: RateLimiter, rule: str, key: str, tries: int) -> int:
    allowed = 0
    for _ in range(tries):
        try:
            await limiter.hit(rule, "test", key)
        except TooManyRequests:
            break
        allowed += 1
    return allowed


def test_memory_hit_limits_per_key():
    async def scenario():
        limiter = RateLimiter(None)
        assert await _hits_until_refused(limiter, "3/minute", "a", 10) == 3
        with pytest.raises(TooManyRequests) as info:
            await limiter.hit("3/minute", "test", "a", message="Too many sign-ups.")
        assert info.value.status == 429 and info.value.code == "rate_limited"
        assert 1 <= info.value.retry_after <= 61
        assert info.value.headers["Retry-After"] == str(info.value.retry_after)
        assert info.value.message.startswith("Too many sign-ups. Try again in ")
        assert await _hits_until_refused(limiter, "3/minute", "b", 10) == 3  # other keys unaffected

    asyncio.run(scenario())


def test_memory_lockout_and_clear():
    async def scenario():
        limiter = RateLimiter(None)
        rule, key = "3/15minutes", ("login", "alice")
        for _ in range(2):
            await limiter.record_failure(rule, *key)
            await limiter.check_lockout(rule, *key, message="Too many failed logins.")
        await limiter.record_failure(rule, *key)
        with pytest.raises(TooManyRequests) as info:
            await limiter.check_lockout(rule, *key, message="Too many failed logins.")
        assert info.value.code == "locked_out"
        assert "minutes" in info.value.message and 60 < info.value.retry_after <= 15 * 60 + 1
        await limiter.check_lockout(rule, "login", "bob", message="x")  # others unaffected
        await limiter.clear_failures(rule, *key)
        await limiter.check_lockout(rule, *key, message="Too many failed logins.")

    asyncio.run(scenario())


def test_disabled_limiter_never_refuses():
    async def scenario():
        limiter = RateLimiter(None, enabled=False)
        for _ in range(5):
            await limiter.hit("1/minute", "k")
            await limiter.record_failure("1/minute", "k")
            await limiter.check_lockout("1/minute", "k", message="x")

    asyncio.run(scenario())


@pytest.mark.skipif(not REDIS_URL, reason="Redis not running (set SMILE_TEST_REDIS_AVAILABLE_URL; .ci/run does)")
def test_redis_limits_are_shared_between_processes():
    """Two limiters on one Redis (as two server processes would be) share one count."""

    async def scenario():
        first, second = RateLimiter(REDIS_URL), RateLimiter(REDIS_URL)
        key = uuid.uuid4().hex  # unique per run; expires with its window
        await first.hit("4/minute", "test", key)
        await second.hit("4/minute", "test", key)
        await first.hit("4/minute", "test", key)
        await second.hit("4/minute", "test", key)
        with pytest.raises(TooManyRequests):
            await first.hit("4/minute", "test", key)
        with pytest.raises(TooManyRequests):
            await second.hit("4/minute", "test", key)

        rule = "2/15minutes"
        await first.record_failure(rule, "login", key)
        await second.record_failure(rule, "login", key)
        with pytest.raises(TooManyRequests) as info:
            await first.check_lockout(rule, "login", key, message="Locked.")
        assert info.value.code == "locked_out"
        await second.clear_failures(rule, "login", key)
        await first.check_lockout(rule, "login", key, message="Locked.")

    asyncio.run(scenario())
