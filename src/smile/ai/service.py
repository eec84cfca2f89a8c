"""The AI entry points other code calls: `complete` and `stream`.

Both reserve credits first (their own short transaction), call the providers with no database
connection held, and settle exactly once afterwards (another transaction), so a caller's HTTP
layer can stream while settlement commits on its own. `db_factory()` must return an async
context manager yielding a session that commits on exit (e.g. `runtime.current().db.session`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace

import anyio
import structlog
from psycopg.types.json import Jsonb
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from smile.ai import catalog, metering, tokens
from smile.ai.catalog import Model
from smile.ai.models import AiUsage
from smile.ai.providers import registry
from smile.ai.routing import Router
from smile.ai.types import ChatRequest, ChatResult, Delta, ProviderError, Usage
from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import InsufficientFunds
from smile.config import Settings
from smile.kit import runtime
from smile.kit.db import commit, fetch_one, utcnow
from smile.kit.errors import AppError, Invalid, TooManyRequests
from smile.kit.ids import new_id

log = structlog.get_logger("smile.ai")
DbFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
# (settlement's session, credits charged): may queue statements with kit.db.at_commit
OnSettle = Callable[[AsyncSession, int], Awaitable[None]]
_background: set[asyncio.Task] = set()


# The usage row is written and settled on every call: plain SQL through psycopg (smile.kit.db.driver).
_INSERT_USAGE = (
    "INSERT INTO ai_usage (id, user_id, api_key_id, model, stream, status, attempts, input_tokens, output_tokens, "
    "cached_tokens, reserved, credits, uncharged, hold_id, error, settled_at, latency_ms) VALUES (%(id)s, "
    "%(user_id)s, %(api_key_id)s, %(model)s, %(stream)s, %(status)s, 0, 0, 0, 0, %(reserved)s, 0, 0, %(hold_id)s, "
    "%(error)s, %(settled_at)s, %(latency_ms)s)"
)
# Leaving `pending` is the exactly-once guard. Credits are the cost; the rare uncovered overrun is fixed after.
_CLAIM_USAGE = (
    "UPDATE ai_usage SET status = %(status)s, served_model = %(served_model)s, provider = %(provider)s, "
    "upstream_model = %(upstream_model)s, attempts = %(attempts)s, attempt_log = %(attempt_log)s, "
    "input_tokens = %(input_tokens)s, output_tokens = %(output_tokens)s, cached_tokens = %(cached_tokens)s, "
    "latency_ms = %(latency_ms)s, first_byte_ms = %(first_byte_ms)s, error = %(error)s, settled_at = now(), "
    "credits = %(credits)s, uncharged = 0 WHERE id = %(id)s AND status = 'pending' RETURNING id"
)


_REFUSE_USAGE = (
    "UPDATE ai_usage SET status = %(status)s, error = %(error)s, reserved = 0, hold_id = NULL, "
    "settled_at = now(), latency_ms = 0 WHERE id = %(id)s AND status = 'pending'"
)


def _status(refused: AppError | None) -> str:
    if refused is None:
        return "pending"
    return "insufficient_credits" if isinstance(refused, InsufficientFunds) else "failed"


class UpstreamError(AppError):
    status = 502
    code = "ai_upstream_error"


class StreamInterrupted(AppError):
    status = 502
    code = "ai_stream_interrupted"


async def _shielded(coro):
    """Run `coro` to the end even if the caller is being cancelled (settlement must not be lost)."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    with anyio.CancelScope(shield=True):
        return await asyncio.shield(task)


def _error_for(exc: ProviderError) -> AppError:
    if exc.is_client_error:
        return Invalid(f"The model refused the request: {exc.message}", code="ai_bad_request")
    if exc.status == 429:
        wait = str(int(exc.retry_after or 1))
        return TooManyRequests("The model provider is rate limiting; try again shortly.", headers={"Retry-After": wait})
    return UpstreamError(f"No model could answer: {exc.message}")


class _Call:
    def __init__(
        self,
        db_factory: DbFactory,
        user_id: uuid.UUID,
        request: ChatRequest,
        api_key_id: uuid.UUID | None,
        settings: Settings | None,
        stream: bool,
        request_id: uuid.UUID | None = None,
        on_settle: OnSettle | None = None,
    ) -> None:
        self.on_settle = on_settle
        self.db_factory, self.user_id, self.api_key_id, self.stream = db_factory, user_id, api_key_id, stream
        self.settings = settings or runtime.current().settings
        self.request = request
        self.id = request_id or new_id()
        self.started = time.monotonic()
        self.first_byte_ms: int | None = None
        self.hold_id: uuid.UUID | None = None
        self.reserved = 0
        self.settled = False
        self.credits = 0
        self.router: Router | None = None

    def _validate(self) -> None:
        r = self.request
        if not r.messages:
            raise Invalid("Send at least one message.", fields={"messages": "empty"})
        if r.max_tokens is not None and r.max_tokens < 1:
            raise Invalid("max_tokens must be at least 1.", fields={"max_tokens": "must be >= 1"})

    async def prepare(self) -> None:
        """Resolve the chain, inject max_tokens if missing, reserve the worst case, write the usage row.

        The reservation (the wallet's UPDATE and the hold) goes with the COMMIT, after the usage row; when it
        is refused, a second transaction records why on the row."""
        self._validate()
        providers = registry(self.settings)
        refused: AppError | None = None
        reservation: metering.Reservation | None = None
        async with self.db_factory() as db:
            chain = await catalog.chain(db, self.request.model, set(providers), self.settings)
            prompt = tokens.upper_bound(self.request.messages, self.request.tools)
            max_tokens = self.request.max_tokens
            if max_tokens is None:
                max_tokens = metering.injected_max_tokens(
                    chain, prompt, await metering.available(db, self.user_id), self.settings
                )
            self.reserved = metering.worst_case(chain, prompt, max(1, max_tokens))
            if max_tokens < 1:
                refused = await self._explained(db, InsufficientFunds())
            elif self.reserved > 0:
                reservation = await metering.reserve_at_commit(
                    db, self.user_id, self.id, self.reserved, self.settings.ai_hold_minutes
                )
                self.hold_id = reservation.hold_id
            await fetch_one(
                db,
                _INSERT_USAGE,
                {
                    "id": self.id,
                    "user_id": self.user_id,
                    "api_key_id": self.api_key_id,
                    "model": self.request.model,
                    "stream": self.stream,
                    "status": _status(refused),
                    "reserved": 0 if refused else self.reserved,
                    "hold_id": self.hold_id,
                    "error": refused.message if refused else None,
                    "settled_at": utcnow() if refused else None,
                    "latency_ms": 0 if refused else None,
                },
            )
            await commit(db)
        if reservation is not None and reservation.queued.row is None:
            self.hold_id = None
            async with self.db_factory() as db:
                refused = await self._explained(db, await ledger.refusal(db, reservation.wallet))
                await fetch_one(
                    db, _REFUSE_USAGE, {"id": self.id, "status": _status(refused), "error": refused.message}
                )
        if refused is not None:
            raise refused
        self.request = replace(self.request, max_tokens=max_tokens)
        self.router = Router(chain, providers, self.settings)

    async def _explained(self, db: AsyncSession, refused: AppError) -> AppError:
        if not isinstance(refused, InsufficientFunds):
            return refused
        available = await metering.available(db, self.user_id)
        return InsufficientFunds(
            f"This request may cost up to {self.reserved:,} credits and you have "
            f"{available:,} available; top up or lower max_tokens."
        )

    async def settle(self, status: str, usage: Usage | None, served: Model | None, error: str | None = None) -> int:
        """Exactly once: charge `served.cost(usage)`, release the rest of the hold, finish the usage row."""
        if self.settled:
            return self.credits
        self.settled = True
        usage = usage or Usage()
        cost = served.cost(usage) if served else 0
        attempts = self.router.log() if self.router else []
        async with self.db_factory() as db:
            claimed = await fetch_one(
                db,
                _CLAIM_USAGE,
                {
                    "id": self.id,
                    "status": status,
                    "served_model": served.id if served else None,
                    "provider": served.provider if served else None,
                    "upstream_model": served.upstream_model if served else None,
                    "attempts": len(attempts),
                    "attempt_log": Jsonb(attempts),
                    "input_tokens": usage.input_tokens,
                    "output_tokens": usage.output_tokens,
                    "cached_tokens": usage.cached_tokens,
                    "latency_ms": int((time.monotonic() - self.started) * 1000),
                    "first_byte_ms": self.first_byte_ms,
                    "error": error,
                    "credits": cost,
                },
            )
            if claimed is None:
                return 0
            done = await metering.settle(
                db,
                self.user_id,
                self.id,
                self.hold_id,
                self.reserved,
                cost,
                served.id if served else self.request.model,
            )
            if done.uncharged:
                await db.execute(
                    update(AiUsage).where(AiUsage.id == self.id).values(credits=done.charged, uncharged=done.uncharged)
                )
            if self.on_settle is not None:
                await self.on_settle(db, done.charged)
            await commit(db)  # the wallet's, the revenue's and the key's UPDATEs go with the COMMIT
        await metering.after_commit(self.db_factory, self.user_id, done)
        self.credits = done.charged
        log.info(
            "ai_call",
            request_id=str(self.id),
            status=status,
            model=served.id if served else None,
            credits=done.charged,
            attempts=len(attempts),
        )
        return done.charged

    def prompt_usage(self, hint: Usage | None) -> Usage:
        if hint is not None and hint.input_tokens:
            return Usage(hint.input_tokens, 0, hint.cached_tokens)
        return Usage(tokens.count_messages(self.request.messages, self.request.tools))

    def current_model(self) -> Model | None:
        if not self.router or not self.router.attempts:
            return None
        tried = self.router.attempts[-1].model
        return next(m for m in self.router.chain if m.id == tried)


async def complete(
    db_factory: DbFactory,
    user_id: uuid.UUID,
    request: ChatRequest,
    api_key_id: uuid.UUID | None = None,
    *,
    settings: Settings | None = None,
    request_id: uuid.UUID | None = None,
    on_settle: OnSettle | None = None,
) -> ChatResult:
    """One reply, not streamed. Raises 402 (credits), 404 (model), 422, 429 or 502 as AppErrors.
    `request_id` (a new UUIDv7 when None) becomes the ai_usage row's id; `on_settle(db, credits)` runs inside
    the settlement's transaction (e.g. the gateway's per-key spend), only when this call settles."""
    call = _Call(
        db_factory,
        user_id,
        replace(request, stream=False),
        api_key_id,
        settings,
        stream=False,
        request_id=request_id,
        on_settle=on_settle,
    )
    await call.prepare()
    assert call.router is not None
    try:
        served, result = await call.router.chat(call.request)
    except ProviderError as exc:
        await _shielded(call.settle("failed", None, None, exc.message))
        raise _error_for(exc) from exc
    except BaseException:  # the caller went away: the prompt was sent, nothing was delivered
        await _shielded(call.settle("client_cancelled", call.prompt_usage(None), call.current_model()))
        raise
    call.first_byte_ms = int((time.monotonic() - call.started) * 1000)
    result.credits = await _shielded(call.settle("ok", result.usage, served))
    result.model, result.provider, result.request_id = served.id, served.provider, str(call.id)
    result.offline = served.provider == "offline"
    return result


async def stream(
    db_factory: DbFactory,
    user_id: uuid.UUID,
    request: ChatRequest,
    api_key_id: uuid.UUID | None = None,
    *,
    settings: Settings | None = None,
    request_id: uuid.UUID | None = None,
    on_settle: OnSettle | None = None,
) -> AsyncIterator[Delta]:
    """Deltas of one reply. The first `anext()` reserves and connects (so 402/404/502 surface before any
    output); the last delta carries usage, credits and the request id. Settles in `finally`, also when the
    consumer stops early (charged prompt + delivered tokens, status client_cancelled) or upstream fails
    after partial output (charged for what was delivered, then StreamInterrupted is raised)."""
    call = _Call(
        db_factory,
        user_id,
        replace(request, stream=True),
        api_key_id,
        settings,
        stream=True,
        request_id=request_id,
        on_settle=on_settle,
    )
    await call.prepare()
    assert call.router is not None
    try:
        opened = await call.router.open_stream(call.request)
    except ProviderError as exc:
        await _shielded(call.settle("failed", None, None, exc.message))
        raise _error_for(exc) from exc
    except BaseException:
        await _shielded(call.settle("client_cancelled", call.prompt_usage(None), call.current_model()))
        raise
    served, hint, delta = opened.model, opened.hint, opened.first
    text: list[str] = []
    calls: list[str] = []
    status, error = "client_cancelled", None
    try:
        while True:
            if delta.finish_reason is not None:
                usage = delta.usage or Usage(call.prompt_usage(hint).input_tokens, tokens.count("".join(text)))
                credits = await _shielded(call.settle("ok", usage, served))
                yield replace(delta, usage=usage, credits=credits, request_id=str(call.id), model=served.id)
                return
            if delta.has_content:
                if call.first_byte_ms is None:
                    call.first_byte_ms = int((time.monotonic() - call.started) * 1000)
                text.append(delta.text)  # handed to the consumer = delivered
                calls += [f"{c.name or ''} {c.arguments}" for c in delta.tool_calls]
                yield delta
            elif delta.usage is not None:
                hint = delta.usage
            try:
                delta = await anext(opened.deltas)
            except StopAsyncIteration:
                raise ProviderError("upstream stream ended before the reply was complete") from None
    except Exception as exc:  # upstream failed after partial output (the consumer's own exits are BaseException)
        status, error = "upstream_error", getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        raise StreamInterrupted(f"The model stopped mid-reply: {error}") from exc
    finally:
        if not call.settled:
            await _shielded(_finish(opened.deltas))
            prompt = call.prompt_usage(hint)
            delivered = tokens.count("".join(text)) + sum(tokens.count(c) for c in calls)
            await _shielded(
                call.settle(status, Usage(prompt.input_tokens, delivered, prompt.cached_tokens), served, error)
            )
        else:
            await _shielded(_finish(opened.deltas))


async def _finish(deltas: AsyncIterator[Delta]) -> None:
    """Close the upstream stream (cancels the upstream request when it is still running)."""
    with contextlib.suppress(Exception):  # closing a broken stream may fail; nothing to do about it
        await deltas.aclose()
