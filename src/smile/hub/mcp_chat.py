"""A chat call made with an API key: the key's model list, rate limits and credit limit around ai.service.

The key's credit limit is held like the wallet is: before the call the worst case is added to the
key's spend (`charge_key`, one conditional UPDATE that cannot pass the limit), afterwards the part
not charged is given back (`release_key`). The worst case is the one ai.service reserves from the
wallet: with no max_tokens given, one is chosen that both the wallet and the key's limit cover.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import structlog

from smile.ai import catalog, metering, service, tokens
from smile.ai.providers import registry
from smile.ai.types import ChatRequest, ChatResult, Message
from smile.hub.auth import ApiKeyPrincipal
from smile.hub.limits import check_rate
from smile.hub.service import charge_key, release_key
from smile.kit import runtime

log = structlog.get_logger("smile.hub.mcp")


@dataclass
class Budget:
    max_tokens: int
    worst_case: int  # credits: what ai.service will reserve from the wallet for this request
    prompt_tokens: int


async def budget(principal: ApiKeyPrincipal, model: str, messages: list[Message], max_tokens: int | None) -> Budget:
    rt = runtime.current()
    settings = rt.settings
    async with rt.db.session() as db:
        chain = await catalog.chain(db, model, set(registry(settings)), settings)
        prompt = tokens.upper_bound(messages)
        if max_tokens is None:
            room = min(m.context_window for m in chain) - prompt
            cap = max(1, min(settings.ai_default_max_tokens, room))
            afford = await metering.available(db, principal.id)
            key = principal.key
            if key.credit_limit is not None:
                afford = min(afford, max(0, key.credit_limit - key.spent_credits))
            # at least 1, so a budget that covers nothing is refused below with a clear 402
            max_tokens = max(1, metering.affordable_max_tokens(chain, prompt, afford, cap))
    return Budget(max_tokens, metering.worst_case(chain, prompt, max_tokens), prompt)


async def _release(principal: ApiKeyPrincipal, credits: int) -> None:
    if credits <= 0:
        return
    with anyio.CancelScope(shield=True):  # also when the caller went away: the key's hold must not leak
        async with runtime.current().db.session() as db:
            await release_key(db, principal.key.id, credits)


async def chat_as_key(principal: ApiKeyPrincipal, model: str, messages: list[Message],
                      max_tokens: int | None) -> ChatResult:
    """One non-streamed reply, billed to the key owner's wallet and counted against the key's limits."""
    principal.check_model(model)
    plan = await budget(principal, model, messages, max_tokens)
    await check_rate(principal.key, principal.id, plan.prompt_tokens + plan.max_tokens)
    rt = runtime.current()
    async with rt.db.session() as db:
        await charge_key(db, principal.key.id, plan.worst_case)
    request = ChatRequest(model=model, messages=messages, max_tokens=plan.max_tokens)
    try:
        result = await service.complete(rt.db.session, principal.id, request, api_key_id=principal.key.id)
    except BaseException:
        # a failed call charges nothing; a cancelled one is charged its prompt, which the key then does not count
        await _release(principal, plan.worst_case)
        raise
    await _release(principal, plan.worst_case - result.credits)
    if result.credits > plan.worst_case:  # cannot happen while ai.service reserves this same worst case
        log.warning("mcp_chat_over_budget", request_id=result.request_id, credits=result.credits,
                    worst_case=plan.worst_case)
    return result
