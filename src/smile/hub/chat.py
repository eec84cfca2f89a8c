"""hub: the chat calls the hub makes for someone — with an API key (the gateway's /v1/chat/completions and
the MCP `chat` tool) and for the signed-in user (the playground) — around smile.ai.service.

A keyed call: the key's model list, an `agent:<handle>` model turned into that agent's request
(smile.agents.ask: its persona, knowledge and the caller's memories, on its model alias; paid by this key),
the rate limits (check_rate), then the key's credit limit: for a key with a limit the call's worst case is
charged to the key first (`service.charge_key`, one conditional UPDATE that cannot pass the limit; with no
max_tokens given, one is injected that both the key's remainder and the wallet cover), and after the
call the key's spend is set to exactly what the call was charged (`KeySpend`).

These paths own their transactions (docs/architecture.md, "Paths that own their transactions"): the request's
transaction is committed before the model is called, so no pooled connection is held for the call, and
ai.service reserves and settles in short transactions of its own whose shared-row UPDATEs go with the
COMMIT (kit.db.at_commit).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import anyio
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.agents import ask
from smile.ai import catalog, metering, tokens
from smile.ai import service as ai
from smile.ai.models import AiUsage
from smile.ai.providers import registry
from smile.ai.types import ChatRequest, ChatResult, Delta, Usage
from smile.billing.credits import service as credits
from smile.hub import service
from smile.hub.auth import ApiKeyPrincipal
from smile.hub.limits import check_rate
from smile.hub.service import CreditLimitReached
from smile.kit import runtime
from smile.kit.db import Last, commit
from smile.kit.errors import AppError
from smile.kit.ids import new_id

log = structlog.get_logger("smile.hub")


# ---- the key's credit limit around a metered call ----


async def hold_key(principal: ApiKeyPrincipal, request: ChatRequest) -> tuple[ChatRequest, int]:
    """Charge the key the call's worst case (only keys with a credit limit); max_tokens is injected when
    missing, bounded by what the key and the wallet have left. Returns (request, credits held)."""
    key = principal.key
    if key.credit_limit is None:
        return request, 0
    settings = runtime.current().settings
    async with runtime.current().db.session() as db:
        chain = await catalog.chain(db, request.model, set(registry(settings)), settings)
        prompt = tokens.upper_bound(request.messages, request.tools)
        left = max(0, key.credit_limit - key.spent_credits)
        if request.max_tokens is None:
            if metering.injected_max_tokens(chain, prompt, left, settings) < 1:
                raise CreditLimitReached(
                    f"This API key's credit limit is reached: {left:,} of its "
                    f"{key.credit_limit:,} credits left, too few for this prompt."
                )
            wallet = await metering.available(db, principal.user.id)
            fits = metering.injected_max_tokens(chain, prompt, min(left, wallet), settings)
            if fits < 1:
                return request, 0  # the wallet is short: ai.service answers with its 402
            request = replace(request, max_tokens=fits)
        held = metering.worst_case(chain, prompt, request.max_tokens)
        await service.charge_key(db, key.id, held)
    return request, held


class KeySpend:
    """The key's spend becomes exactly what the call was charged: one correction (service.adjust_key_at_commit)
    sent with the COMMIT of the call's settlement (`on_settle`), or by `finish` in a transaction of its own
    when the call never settled (refused, failed early)."""

    def __init__(self, key_id: uuid.UUID, held: int) -> None:
        self.key_id, self.held, self.done = key_id, held, False
        self.correction: Last | None = None

    def _correct(self, db: AsyncSession, charged: int) -> None:
        self.done = True
        if charged != self.held:
            self.correction = service.adjust_key_at_commit(db, self.key_id, charged - self.held)

    async def on_settle(self, db: AsyncSession, charged: int) -> None:
        self._correct(db, charged)

    async def finish(self, request_id: uuid.UUID) -> None:
        if not self.done:
            with anyio.CancelScope(shield=True):
                async with runtime.current().db.session() as db:
                    self._correct(db, await db.scalar(select(AiUsage.credits).where(AiUsage.id == request_id)) or 0)
                    await commit(db)
        if self.correction is not None and self.correction.row is None:  # the estimate was short, the limit hit
            log.warning("key_limit_overrun", key_id=str(self.key_id), credits=self.correction.params["n"])
            self.correction = None


# ---- a call made with an API key ----


@dataclass
class Streamed:
    """An opened keyed stream: its first delta (reserved and connected), the rest, and its close()."""

    request_id: uuid.UUID
    model: str
    first: Delta
    deltas: AsyncIterator[Delta]
    spend: KeySpend

    async def close(self) -> None:
        """Close the stream (settling it for what was delivered) and settle the key's spend; always call it."""
        with anyio.CancelScope(shield=True):
            await self.deltas.aclose()
            await self.spend.finish(self.request_id)


async def _keyed(
    principal: ApiKeyPrincipal, request: ChatRequest, db: AsyncSession | None
) -> tuple[ChatRequest, KeySpend]:
    if db is not None:
        await commit(db)  # the request's transaction (the key lookup): the call must not hold its connection
    principal.check_model(request.model)
    if ask.is_agent_model(request.model):  # `agent:<handle>`: the agent's prompt and model, paid by this key
        async with runtime.current().db.session() as agent_db:
            request = await ask.request_for(agent_db, principal.user, request)
    await check_rate(
        principal.key, principal.user, tokens.upper_bound(request.messages, request.tools) + (request.max_tokens or 0)
    )
    request, held = await hold_key(principal, request)
    return request, KeySpend(principal.key.id, held)


async def complete_as_key(
    principal: ApiKeyPrincipal, request: ChatRequest, db: AsyncSession | None = None
) -> ChatResult:
    """One reply, not streamed, billed to the key owner's wallet and counted against the key's limits.
    `db` is the request's session when there is one (it is committed first)."""
    shown = request.model
    request, spend = await _keyed(principal, request, db)
    request_id = new_id()
    try:
        result = await ai.complete(
            runtime.current().db.session,
            principal.user.id,
            request,
            principal.key.id,
            request_id=request_id,
            on_settle=spend.on_settle,
        )
        return replace(result, model=shown) if ask.is_agent_model(shown) else result
    finally:
        await spend.finish(request_id)


async def stream_as_key(principal: ApiKeyPrincipal, request: ChatRequest, db: AsyncSession | None = None) -> Streamed:
    """Open a streamed reply (402/404/429/502 raise here, before any output); the caller must close() it."""
    shown = request.model
    request, spend = await _keyed(principal, request, db)
    request_id = new_id()
    deltas = ai.stream(
        runtime.current().db.session,
        principal.user.id,
        request,
        principal.key.id,
        request_id=request_id,
        on_settle=spend.on_settle,
    )
    try:
        first = await anext(deltas)
    except BaseException:
        await spend.finish(request_id)
        raise
    return Streamed(request_id, shown, first, deltas, spend)


# ---- the playground: a streamed reply for the signed-in user, as server-sent events ----


def event(kind: str, data: dict) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _after(user_id: uuid.UUID, served: str | None) -> dict:
    """The settled wallet and whether the model that answered is the offline one (own short session)."""
    async with runtime.current().db.session() as db:
        wallet = await credits.wallet_balance(db, user_id)
        models = {m.id: m for m in await catalog.all_models(db)}
    model = models.get(served or "")
    return {
        "balance": wallet.balance,
        "available": wallet.available,
        "provider": model.provider if model else None,
        "offline": bool(model and model.provider == "offline"),
    }


async def playground(db: AsyncSession, user_id: uuid.UUID, request: ChatRequest) -> AsyncIterator[bytes]:
    """Open the user's streamed reply and return its events: `start`, `delta`s with a running token and credit
    estimate, then `done` with the exact cost and the new balance (or `error` when the model stops mid-reply).
    Refusals (402 credits, 404 model, 429, 502) raise here, before any output."""
    rt = runtime.current()
    await rt.limiter.hit(
        f"{rt.settings.hub_user_rpm}/minute",
        "hub-playground",
        str(user_id),
        message="You are sending playground messages too quickly.",
    )
    priced = next((m for m in await catalog.all_models(db) if m.id == request.model), None)
    await commit(db)  # the request's transaction: the call must not hold its connection
    prompt = tokens.count_messages(request.messages)
    deltas = ai.stream(rt.db.session, user_id, request)
    first = await anext(deltas)  # reserves credits and connects
    start = {
        "model": request.model,
        "input_tokens": prompt,
        "offline_expected": bool(priced and priced.provider == "offline"),
    }
    return _events(user_id, deltas, first, priced, prompt, start)


async def _events(
    user_id: uuid.UUID,
    deltas: AsyncIterator[Delta],
    first: Delta,
    priced: catalog.Model | None,
    prompt: int,
    start: dict,
) -> AsyncIterator[bytes]:
    yield event("start", start)
    text: list[str] = []
    delta: Delta | None = first
    try:
        while delta is not None:
            if delta.text:
                text.append(delta.text)
                out = tokens.count("".join(text))
                estimate = priced.cost(Usage(prompt, out)) if priced else None
                yield event("delta", {"text": delta.text, "output_tokens": out, "credits_estimate": estimate})
            if delta.finish_reason is not None and delta.request_id:
                usage = delta.usage or Usage()
                done = {
                    "model": delta.model,
                    "finish_reason": delta.finish_reason,
                    "credits": delta.credits or 0,
                    "request_id": delta.request_id,
                    "input_tokens": usage.input_tokens,
                    "output_tokens": usage.output_tokens,
                    "cached_tokens": usage.cached_tokens,
                }
                yield event("done", {**done, **await _after(user_id, delta.model)})
                return
            delta = await anext(deltas, None)
    except AppError as exc:  # the model stopped mid-reply: what was delivered is charged
        yield event("error", {"error": exc.code, "detail": exc.message, **await _after(user_id, None)})
    finally:
        await deltas.aclose()  # settles now when the browser went away (Stop, or a closed tab)
