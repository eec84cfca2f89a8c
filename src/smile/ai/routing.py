"""Routing: an alias's fallback chain, retries with backoff on 429/5xx/timeouts, every attempt recorded.

A stream falls back only before its first content delta has been handed on (the first byte the
client would see); after that, a failure ends the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import TypeVar

from smile.ai.catalog import Model
from smile.ai.providers.base import Provider
from smile.ai.types import ChatRequest, ChatResult, Delta, ProviderError, Usage
from smile.config import Settings

T = TypeVar("T")


@dataclass
class Attempt:
    model: str
    provider: str
    upstream_model: str
    ok: bool
    ms: int
    status: int | None = None
    error: str | None = None


@dataclass
class Opened:
    model: Model
    deltas: AsyncIterator[Delta]
    first: Delta
    hint: Usage | None  # usage the provider reported before any content (Anthropic's message_start)


class Router:
    def __init__(self, chain: list[Model], providers: dict[str, Provider], settings: Settings) -> None:
        self.chain = chain
        self.providers = providers
        self.settings = settings
        self.attempts: list[Attempt] = []

    def log(self) -> list[dict]:
        return [asdict(a) for a in self.attempts]

    def _delay(self, retry: int, error: ProviderError) -> float:
        cap = self.settings.ai_retry_max_seconds
        if error.retry_after is not None:
            return min(cap, error.retry_after)
        return min(cap, self.settings.ai_retry_base_seconds * 2**retry) * random.uniform(0.5, 1.0)

    async def _route(self, call: Callable[[Model, Provider], Awaitable[T]]) -> tuple[Model, T]:
        last: ProviderError | None = None
        for model in self.chain:
            provider = self.providers[model.provider]
            for retry in range(self.settings.ai_max_retries + 1):
                started = time.monotonic()
                try:
                    result = await call(model, provider)
                except ProviderError as exc:
                    error = exc
                except Exception as exc:  # an SDK surprise: treat like an upstream failure, try the next model
                    error = ProviderError(f"{type(exc).__name__}: {exc}")
                else:
                    self._record(model, started, ok=True)
                    return model, result
                self._record(model, started, ok=False, error=error)
                last = error
                if error.is_client_error:
                    raise error
                if not error.retryable:
                    break
                if retry < self.settings.ai_max_retries:
                    await asyncio.sleep(self._delay(retry, error))
        assert last is not None
        raise last

    def _record(self, model: Model, started: float, *, ok: bool, error: ProviderError | None = None) -> None:
        self.attempts.append(
            Attempt(
                model.id,
                model.provider,
                model.upstream_model,
                ok,
                int((time.monotonic() - started) * 1000),
                error.status if error else None,
                error.message[:300] if error else None,
            )
        )

    async def chat(self, request: ChatRequest) -> tuple[Model, ChatResult]:
        return await self._route(lambda model, provider: provider.chat(request, model.upstream_model))

    async def open_stream(self, request: ChatRequest) -> Opened:
        async def open_one(model: Model, provider: Provider) -> Opened:
            deltas = provider.stream(request, model.upstream_model)
            hint = None
            try:
                while True:
                    try:
                        delta = await anext(deltas)
                    except StopAsyncIteration:
                        raise ProviderError("upstream stream ended without a reply", retryable=True) from None
                    if delta.has_content or delta.finish_reason is not None:
                        return Opened(model, deltas, delta, hint)
                    if delta.usage is not None:
                        hint = delta.usage
            except BaseException:
                with contextlib.suppress(Exception):
                    await deltas.aclose()
                raise

        return (await self._route(open_one))[1]
