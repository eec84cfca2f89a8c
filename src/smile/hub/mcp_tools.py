"""The MCP tools: chat, ask_agent, credit_balance, usage, search_posts.

Every call runs as the API key's owner (smile.hub.mcp_server put the principal in the request
scope), counts against the key's and the user's rate limits, and reports refusals (credits, limits,
unknown model, bad input) as tool errors the model can read: "<message> [<code>]".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from smile.ai.models import AiUsage
from smile.ai.types import ChatRequest, ChatResult, Message
from smile.billing.credits import service as credits
from smile.hub.auth import ApiKeyPrincipal
from smile.hub.chat import complete_as_key
from smile.hub.limits import check_rate
from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.errors import AppError
from smile.social.search import service as search

PRINCIPAL = "smile.mcp.principal"
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=200_000)


def principal_of(ctx: Context) -> ApiKeyPrincipal:
    request = ctx.request_context.request
    principal = request.scope.get(PRINCIPAL) if request is not None else None
    if principal is None:  # only reachable if the server is served without smile.hub.mcp_server's endpoint
        raise ToolError("Not authenticated: send a smile API key with the 'mcp' scope. [missing_api_key]")
    return principal


def tool_errors(fn: Callable[..., Awaitable[dict]]) -> Callable[..., Awaitable[dict]]:
    """AppErrors (402, 403, 404, 422, 429, 502 ...) become tool errors with the message and code."""

    @wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> dict:
        try:
            return await fn(*args, **kwargs)
        except AppError as exc:
            raise ToolError(f"{exc.message} [{exc.code}]") from exc

    return run


def register(server: MCPServer, with_social: bool = True) -> None:
    server.tool(
        description=(
            "Chat with a model from smile's catalog. Give `prompt` (one user message) or `messages`. "
            "Billed from the key owner's credits; the result reports the tokens and credits charged."
        )
    )(chat)
    server.tool(
        description=(
            "Ask one of smile's AI agents by its handle: it answers in its persona, from its knowledge and what "
            "it remembers about you. Billed from the key owner's credits, like `chat`."
        )
    )(ask_agent)
    server.tool(
        description="The key owner's credits wallet: balance, held (reserved by running calls) and "
        "available credits, and what is left of this key's credit limit.",
        annotations=READ_ONLY,
    )(credit_balance)
    server.tool(
        description="A summary of the key owner's recent AI usage: totals and per-model "
        "requests, tokens and credits over the last `days` days, plus the latest requests.",
        annotations=READ_ONLY,
    )(usage)
    if with_social:  # the one tool that needs the social module
        server.tool(
            description='Search public posts on smile (words, "phrases", -exclusions, or). '
            "Pass `cursor` from a previous result for the next page.",
            annotations=READ_ONLY,
        )(search_posts)


@tool_errors
async def chat(
    ctx: Context,
    model: Annotated[
        str | None,
        Field(min_length=1, max_length=100, description="A catalog model id; the site's default model if left out"),
    ] = None,
    prompt: Annotated[str | None, Field(max_length=200_000, description="One user message")] = None,
    messages: Annotated[
        list[ChatMessage] | None, Field(max_length=500, description="The conversation, oldest first")
    ] = None,
    system: Annotated[str | None, Field(max_length=50_000, description="A system prompt")] = None,
    max_tokens: Annotated[int | None, Field(ge=1, le=1_000_000, description="Most tokens to generate")] = None,
) -> dict[str, Any]:
    principal = principal_of(ctx)
    turns = [Message(role="system", content=system)] if system else []
    turns += [Message(role=m.role, content=m.content) for m in messages or []]
    if prompt:
        turns.append(Message(role="user", content=prompt))
    if not any(m.role != "system" for m in turns):
        raise ToolError("Give a `prompt` or at least one user message in `messages`. [invalid_request]")
    model = model or runtime.current().settings.ai_default_model
    result = await complete_as_key(principal, ChatRequest(model=model, messages=turns, max_tokens=max_tokens))
    return _reply(result)


@tool_errors
async def ask_agent(
    ctx: Context,
    handle: Annotated[str, Field(min_length=1, max_length=60, description="The agent's handle, e.g. helper")],
    message: Annotated[str, Field(min_length=1, max_length=200_000, description="What to ask it")],
    max_tokens: Annotated[int | None, Field(ge=1, le=1_000_000, description="Most tokens to generate")] = None,
) -> dict[str, Any]:
    """The same call as the gateway's model `agent:<handle>` (smile.agents.ask)."""
    request = ChatRequest(
        model=f"agent:{handle.removeprefix('@')}", messages=[Message("user", message)], max_tokens=max_tokens
    )
    return _reply(await complete_as_key(principal_of(ctx), request))


def _reply(result: ChatResult) -> dict[str, Any]:
    return {
        "text": result.text,
        "model": result.model,
        "finish_reason": result.finish_reason,
        "offline": result.offline,
        "request_id": result.request_id,
        "credits": result.credits,
        "usage": {
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
            "cached_tokens": result.usage.cached_tokens,
        },
    }


@tool_errors
async def credit_balance(ctx: Context) -> dict[str, Any]:
    principal = principal_of(ctx)
    await check_rate(principal.key, principal.id)
    async with runtime.current().db.session() as db:
        wallet = await credits.wallet_balance(db, principal.id)
    key = principal.key
    left = None if key.credit_limit is None else max(0, key.credit_limit - key.spent_credits)
    return {
        **wallet.model_dump(),
        "key": {
            "id": str(key.id),
            "name": key.name,
            "credit_limit": key.credit_limit,
            "spent_credits": key.spent_credits,
            "credit_limit_left": left,
        },
    }


@tool_errors
async def usage(
    ctx: Context,
    days: Annotated[int, Field(ge=1, le=90, description="How many days back to sum")] = 7,
    recent: Annotated[int, Field(ge=0, le=50, description="How many of the latest requests to list")] = 10,
) -> dict[str, Any]:
    principal = principal_of(ctx)
    await check_rate(principal.key, principal.id)
    since = utcnow() - dt.timedelta(days=days)
    model = func.coalesce(AiUsage.served_model, AiUsage.model)
    mine = [AiUsage.user_id == principal.id, AiUsage.created_at >= since]
    async with runtime.current().db.session() as db:
        grouped = (
            await db.execute(
                select(
                    model,
                    func.count(),
                    func.sum(AiUsage.input_tokens),
                    func.sum(AiUsage.output_tokens),
                    func.sum(AiUsage.credits),
                )
                .where(*mine)
                .group_by(model)
                .order_by(func.sum(AiUsage.credits).desc(), model)
            )
        ).all()
        latest = (await db.scalars(select(AiUsage).where(*mine).order_by(AiUsage.id.desc()).limit(recent))).all()
    by_model = [
        {"model": m, "requests": n, "input_tokens": int(i), "output_tokens": int(o), "credits": int(c)}
        for m, n, i, o, c in grouped
    ]
    totals = {k: sum(row[k] for row in by_model) for k in ("requests", "input_tokens", "output_tokens", "credits")}
    return {
        "since": since.isoformat(),
        "days": days,
        "totals": totals,
        "by_model": by_model,
        "recent": [
            {
                "request_id": str(u.id),
                "created_at": u.created_at.isoformat(),
                "model": u.served_model or u.model,
                "status": u.status,
                "input_tokens": u.input_tokens,
                "output_tokens": u.output_tokens,
                "credits": u.credits,
                "latency_ms": u.latency_ms,
                "via_this_key": u.api_key_id == principal.key.id,
            }
            for u in latest
        ],
    }


@tool_errors
async def search_posts(
    ctx: Context,
    query: Annotated[str, Field(min_length=1, max_length=search.MAX_QUERY, description="What to search for")],
    limit: Annotated[int, Field(ge=1, le=50, description="Most posts to return")] = 10,
    cursor: Annotated[str | None, Field(max_length=10, description="next_cursor of a previous result")] = None,
) -> dict[str, Any]:
    """Public posts only: searched as a signed-out visitor, whatever the key's owner may see."""
    principal = principal_of(ctx)
    await check_rate(principal.key, principal.id)
    base = runtime.current().settings.base_url.rstrip("/")
    async with runtime.current().db.session() as db:
        page = await search.posts_page(db, None, query, cursor, limit)
    return {
        "items": [
            {
                "id": str(p.id),
                "url": base + p.url,
                "author": p.author.username,
                "author_name": p.author.display_name,
                "body": p.body,
                "content_warning": p.content_warning,
                "created_at": p.created_at.isoformat(),
                "reactions": p.counts.reactions,
                "comments": p.counts.comments,
                "reposts": p.counts.reposts,
            }
            for p in page.items
        ],
        "next_cursor": page.next_cursor,
    }
