"""The OpenAI-compatible gateway: POST /v1/chat/completions (streamed or not), GET /v1/models, POST /v1/embeddings.

Bearer API keys (smile.hub.auth); every error in OpenAI's shape (OpenAIRoute). One chat call: scope and
model checks, rate limits (check_rate), the key's credit limit (charge_key the worst case before, give the
unused part back after), then smile.ai.service, which reserves and settles the wallet exactly once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated, Any, Literal

import anyio
import structlog
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from smile.ai import catalog, metering, tokens
from smile.ai import service as ai_service
from smile.ai.models import AiUsage
from smile.ai.providers import registry
from smile.ai.types import ChatRequest, ChatResult, Delta, Message, ToolCall, Usage
from smile.hub import embeddings_gateway, service
from smile.hub.auth import ApiKeyPrincipal, require_scope
from smile.hub.errors import OpenAIError, OpenAIRoute, openai_responses
from smile.hub.limits import check_rate
from smile.hub.service import CreditLimitReached
from smile.identity.auth import DB
from smile.kit import runtime
from smile.kit.db import Last, commit
from smile.kit.errors import AppError
from smile.kit.fields import int32
from smile.kit.ids import new_id

log = structlog.get_logger("smile.hub")
router = APIRouter(route_class=OpenAIRoute, tags=["gateway"])

ChatKey = Annotated[ApiKeyPrincipal, Depends(require_scope("chat"))]
ModelsKey = Annotated[ApiKeyPrincipal, Depends(require_scope("models"))]
EmbeddingsKey = Annotated[ApiKeyPrincipal, Depends(require_scope("embeddings"))]


# ---- request bodies (OpenAI's shapes; unknown fields are ignored, as OpenAI-compatible servers do) ----

class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class FunctionIn(BaseModel):
    name: str
    arguments: str = ""


class ToolCallIn(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionIn


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = Field(min_length=1, max_length=100)
    messages: list[MessageIn] = Field(min_length=1, max_length=2000)
    max_tokens: int32(ge=1) | None = None
    max_completion_tokens: int32(ge=1) | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    n: int | None = Field(None, ge=1, le=1, description="Only one choice is supported.")
    stream: bool = False
    stream_options: StreamOptions | None = None


def bad_request(message: str, param: str | None = None, code: str = "invalid_request") -> OpenAIError:
    return OpenAIError(message, status=400, code=code, type="invalid_request_error", param=param)


def openai_error(exc: AppError) -> AppError:
    """Our 422s are OpenAI's 400s; every other AppError keeps its status."""
    if exc.status == 422:
        return bad_request(exc.message, next(iter(exc.fields), None), exc.code)
    return exc


def chat_request(body: ChatIn) -> ChatRequest:
    messages = []
    for i, m in enumerate(body.messages):
        if isinstance(m.content, list):
            if any(part.type != "text" for part in m.content):
                raise bad_request("Only text content parts are supported.", f"messages[{i}].content")
            text = "".join(part.text or "" for part in m.content)
        else:
            text = m.content or ""
        calls = [ToolCall(c.id, c.function.name, c.function.arguments) for c in m.tool_calls or []]
        messages.append(Message(role="system" if m.role == "developer" else m.role, content=text,
                                tool_calls=calls, tool_call_id=m.tool_call_id, name=m.name))
    return ChatRequest(model=body.model, messages=messages, max_tokens=body.max_completion_tokens or body.max_tokens,
                       temperature=body.temperature, tools=body.tools, tool_choice=body.tool_choice,
                       stream=body.stream)


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
            room = min(m.context_window for m in chain) - prompt
            cap = max(1, min(settings.ai_default_max_tokens, room))
            if metering.affordable_max_tokens(chain, prompt, left, cap) < 1:
                raise CreditLimitReached(f"This API key's credit limit is reached: {left:,} of its "
                                         f"{key.credit_limit:,} credits left, too few for this prompt.")
            wallet = await metering.available(db, principal.user.id)
            fits = metering.affordable_max_tokens(chain, prompt, min(left, wallet), cap)
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

    def _correct(self, db, charged: int) -> None:
        self.done = True
        if charged != self.held:
            self.correction = service.adjust_key_at_commit(db, self.key_id, charged - self.held)

    async def on_settle(self, db, charged: int) -> None:
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


# ---- responses ----

def usage_json(usage: Usage) -> dict:
    return {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
            "total_tokens": usage.input_tokens + usage.output_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cached_tokens}}


def completion_json(result: ChatResult, request_id: uuid.UUID) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": result.text if result.text or not result.tool_calls
                               else None}
    if result.tool_calls:
        message["tool_calls"] = [{"id": c.id, "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments}} for c in result.tool_calls]
    return {"id": f"chatcmpl-{request_id}", "object": "chat.completion", "created": int(time.time()),
            "model": result.model, "system_fingerprint": None,
            "choices": [{"index": 0, "message": message, "finish_reason": result.finish_reason, "logprobs": None}],
            "usage": usage_json(result.usage),
            "smile": {"request_id": str(request_id), "credits": result.credits, "provider": result.provider,
                      "offline": result.offline}}


class EventStream(StreamingResponse):
    """Server-sent events whose generator is always closed, also when the client went away mid-stream
    (closing it settles the call for what was delivered)."""

    async def stream_response(self, send) -> None:
        try:
            await super().stream_response(send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()  # type: ignore[union-attr]


def _sse(data: dict | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, separators=(',', ':'))}\n\n"


def _delta_json(delta: Delta) -> dict:
    out: dict[str, Any] = {}
    if delta.text:
        out["content"] = delta.text
    if delta.tool_calls:
        out["tool_calls"] = [{"index": c.index, **({"id": c.id, "type": "function"} if c.id else {}),
                              "function": {k: v for k, v in (("name", c.name), ("arguments", c.arguments))
                                           if v is not None}} for c in delta.tool_calls]
    return out


async def events(first: Delta, deltas: AsyncIterator[Delta], request_id: uuid.UUID, model: str,
                 include_usage: bool, spend: KeySpend) -> AsyncIterator[str]:
    """OpenAI's chunk format: a role chunk, content chunks, a finish chunk, the usage chunk when asked, [DONE]."""
    base = {"id": f"chatcmpl-{request_id}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "system_fingerprint": None}

    def chunk(delta: dict, finish: str | None = None) -> str:
        return _sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]})

    try:
        yield chunk({"role": "assistant", "content": ""})
        delta = first
        while True:
            if delta.has_content or delta.finish_reason is not None:
                yield chunk(_delta_json(delta), delta.finish_reason)
            if delta.finish_reason is not None:
                if include_usage and delta.usage is not None:
                    yield _sse({**base, "choices": [], "usage": usage_json(delta.usage),
                                "smile": {"request_id": str(request_id), "credits": delta.credits,
                                          "served_model": delta.model}})
                break
            delta = await anext(deltas)
        yield _sse("[DONE]")
    except AppError as exc:  # upstream failed after partial output: it was charged for what was delivered
        yield _sse({"error": {"message": exc.message, "type": "server_error", "param": None, "code": exc.code}})
    finally:
        with anyio.CancelScope(shield=True):
            await deltas.aclose()
            await spend.finish(request_id)


# ---- routes ----

@router.post("/v1/chat/completions", responses=openai_responses(400, 401, 402, 403, 404, 429))
async def chat_completions(body: ChatIn, me: ChatKey, db: DB):
    """OpenAI's chat completions. With `stream: true`, server-sent chunks ending in `data: [DONE]`; with
    `stream_options.include_usage`, a last chunk with the usage (and the credits charged, under `smile`)."""
    await db.commit()  # the call must not hold this request's connection
    request = chat_request(body)
    me.check_model(request.model)
    await check_rate(me.key, me.user, tokens.upper_bound(request.messages, request.tools) + (request.max_tokens or 0))
    try:
        request, held = await hold_key(me, request)
    except AppError as exc:
        raise openai_error(exc) from exc
    request_id, factory = new_id(), runtime.current().db.session
    spend = KeySpend(me.key.id, held)
    if body.stream:
        deltas = ai_service.stream(factory, me.user.id, request, me.key.id, request_id=request_id,
                                   on_settle=spend.on_settle)
        try:
            first = await anext(deltas)
        except BaseException as exc:
            await spend.finish(request_id)
            if isinstance(exc, AppError):
                raise openai_error(exc) from exc
            raise
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return EventStream(events(first, deltas, request_id, request.model, include_usage, spend),
                           media_type="text/event-stream",
                           headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no",
                                    "X-Request-Id": str(request_id)})
    try:
        result = await ai_service.complete(factory, me.user.id, request, me.key.id, request_id=request_id,
                                           on_settle=spend.on_settle)
    except AppError as exc:
        raise openai_error(exc) from exc
    finally:
        await spend.finish(request_id)
    return JSONResponse(completion_json(result, request_id), headers={"X-Request-Id": str(request_id)})


def _model_json(model_id: str, owner: str) -> dict:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owner}


async def _usable(db, me: ApiKeyPrincipal) -> list[dict]:
    settings = runtime.current().settings
    models = await catalog.all_models(db, enabled_only=True)
    if "offline" not in {m.id for m in models}:
        await catalog.ensure_seeded(db, settings)
        models = await catalog.all_models(db, enabled_only=True)
    providers = set(registry(settings))
    out = [_model_json(m.id, m.provider) for m in models if m.provider in providers and me.allows_model(m.id)]
    name = embeddings_gateway.model_id(settings)
    if me.allows_model(name):
        out.append(_model_json(name, "smile-embeddings"))
    return out


@router.get("/v1/models", responses=openai_responses(401, 403))
async def list_models(me: ModelsKey, db: DB) -> dict:
    """The catalog models this key may use (chat models, then the embeddings model)."""
    return {"object": "list", "data": await _usable(db, me)}


@router.get("/v1/models/{model_id:path}", responses=openai_responses(401, 403, 404))
async def get_model(model_id: str, me: ModelsKey, db: DB) -> dict:
    for model in await _usable(db, me):
        if model["id"] == model_id:
            return model
    raise OpenAIError(f"The model '{model_id}' does not exist or this key may not use it.", status=404,
                      code="model_not_found", type="invalid_request_error", param="model")


@router.post("/v1/embeddings", responses=openai_responses(400, 401, 402, 403, 404, 429))
async def create_embeddings(body: embeddings_gateway.EmbeddingsIn, me: EmbeddingsKey, db: DB) -> dict:
    """Embeddings from the configured source (local all-MiniLM-L6-v2 or an endpoint), metered on input tokens."""
    await db.commit()
    try:
        return await embeddings_gateway.create(me, body)
    except AppError as exc:
        raise openai_error(exc) from exc
