"""The OpenAI-compatible gateway: POST /v1/chat/completions (streamed or not), GET /v1/models, POST /v1/embeddings.

Bearer API keys (smile.hub.auth); every error in OpenAI's shape (OpenAIRoute). The endpoints translate
OpenAI's shapes; a chat call itself (model and rate checks, the key's credit limit, smile.ai.service, which
reserves and settles the wallet exactly once) is smile.hub.chat.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from smile.ai import catalog
from smile.ai.providers import registry
from smile.ai.types import ChatRequest, ChatResult, Delta, Message, ToolCall, Usage
from smile.hub import chat, embeddings_gateway
from smile.hub.auth import ApiKeyPrincipal, require_scope
from smile.hub.errors import OpenAIError, OpenAIRoute, openai_responses
from smile.identity.auth import DB
from smile.kit import runtime
from smile.kit.errors import AppError
from smile.kit.fields import int32

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
        messages.append(
            Message(
                role="system" if m.role == "developer" else m.role,
                content=text,
                tool_calls=calls,
                tool_call_id=m.tool_call_id,
                name=m.name,
            )
        )
    return ChatRequest(
        model=body.model,
        messages=messages,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        temperature=body.temperature,
        tools=body.tools,
        tool_choice=body.tool_choice,
        stream=body.stream,
    )


# ---- responses ----


def usage_json(usage: Usage) -> dict:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def completion_json(result: ChatResult, request_id: uuid.UUID) -> dict:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": result.text if result.text or not result.tool_calls else None,
    }
    if result.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in result.tool_calls
        ]
    return {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": result.model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": message, "finish_reason": result.finish_reason, "logprobs": None}],
        "usage": usage_json(result.usage),
        "smile": {
            "request_id": str(request_id),
            "credits": result.credits,
            "provider": result.provider,
            "offline": result.offline,
        },
    }


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
        out["tool_calls"] = [
            {
                "index": c.index,
                **({"id": c.id, "type": "function"} if c.id else {}),
                "function": {k: v for k, v in (("name", c.name), ("arguments", c.arguments)) if v is not None},
            }
            for c in delta.tool_calls
        ]
    return out


async def events(call: chat.Streamed, include_usage: bool) -> AsyncIterator[str]:
    """OpenAI's chunk format: a role chunk, content chunks, a finish chunk, the usage chunk when asked, [DONE]."""
    base = {
        "id": f"chatcmpl-{call.request_id}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": call.model,
        "system_fingerprint": None,
    }

    def chunk(delta: dict, finish: str | None = None) -> str:
        return _sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]})

    try:
        yield chunk({"role": "assistant", "content": ""})
        delta = call.first
        while True:
            if delta.has_content or delta.finish_reason is not None:
                yield chunk(_delta_json(delta), delta.finish_reason)
            if delta.finish_reason is not None:
                if include_usage and delta.usage is not None:
                    yield _sse(
                        {
                            **base,
                            "choices": [],
                            "usage": usage_json(delta.usage),
                            "smile": {
                                "request_id": str(call.request_id),
                                "credits": delta.credits,
                                "served_model": delta.model,
                            },
                        }
                    )
                break
            delta = await anext(call.deltas)
        yield _sse("[DONE]")
    except AppError as exc:  # upstream failed after partial output: it was charged for what was delivered
        yield _sse({"error": {"message": exc.message, "type": "server_error", "param": None, "code": exc.code}})
    finally:
        await call.close()


# ---- routes ----


@router.post("/v1/chat/completions", responses=openai_responses(400, 401, 402, 403, 404, 429))
async def chat_completions(body: ChatIn, me: ChatKey, db: DB):
    """OpenAI's chat completions. With `stream: true`, server-sent chunks ending in `data: [DONE]`; with
    `stream_options.include_usage`, a last chunk with the usage (and the credits charged, under `smile`)."""
    request = chat_request(body)
    try:
        if body.stream:
            call = await chat.stream_as_key(me, request, db)
        else:
            result = await chat.complete_as_key(me, request, db)
    except AppError as exc:
        raise openai_error(exc) from exc
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return EventStream(
            events(call, include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "X-Request-Id": str(call.request_id)},
        )
    request_id = uuid.UUID(result.request_id)
    return JSONResponse(completion_json(result, request_id), headers={"X-Request-Id": str(request_id)})


def _model_json(model_id: str, owner: str) -> dict:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owner}


async def _usable(db, me: ApiKeyPrincipal) -> list[dict]:
    settings = runtime.current().settings
    models = await catalog.models(db, settings, enabled_only=True)
    providers = set(registry(settings))
    out = [
        _model_json(m.id, m.provider) for m in models if m.enabled and m.provider in providers and me.allows_model(m.id)
    ]
    name = embeddings_gateway.model_id(settings)
    if embeddings_gateway.usable(settings) and me.allows_model(name):
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
    raise OpenAIError(
        f"The model '{model_id}' does not exist or this key may not use it.",
        status=404,
        code="model_not_found",
        type="invalid_request_error",
        param="model",
    )


@router.post("/v1/embeddings", responses=openai_responses(400, 401, 402, 403, 404, 429))
async def create_embeddings(body: embeddings_gateway.EmbeddingsIn, me: EmbeddingsKey, db: DB) -> dict:
    """Embeddings from the configured source (local all-MiniLM-L6-v2 or an endpoint), metered on input tokens."""
    try:
        return await embeddings_gateway.create(me, body, db)
    except AppError as exc:
        raise openai_error(exc) from exc
