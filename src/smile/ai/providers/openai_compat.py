"""OpenAI-compatible provider (OpenAI, Ollama, vLLM, LM Studio, ...) through the official `openai` SDK."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import openai

from smile.ai import tokens
from smile.ai.providers.base import Provider
from smile.ai.types import (
    ChatRequest,
    ChatResult,
    Delta,
    Message,
    ProviderError,
    ToolCall,
    ToolCallDelta,
    Usage,
    retryable_status,
)


def to_openai(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
        out["content"] = message.content or None
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    if message.name:
        out["name"] = message.name
    return out


def _retry_after(headers) -> float | None:
    try:
        value = headers.get("retry-after") if headers is not None else None
        return float(value) if value else None
    except ValueError:
        return None


def provider_error(exc: Exception) -> ProviderError:
    """Map an SDK exception (openai or anthropic: same shapes) onto ProviderError."""
    status = getattr(exc, "status_code", None)
    if status is not None:
        response = getattr(exc, "response", None)
        return ProviderError(
            f"upstream answered {status}: {getattr(exc, 'message', exc)}",
            status=status,
            retryable=retryable_status(status),
            retry_after=_retry_after(getattr(response, "headers", None)),
        )
    if "Timeout" in type(exc).__name__:
        return ProviderError("upstream timed out", retryable=True)
    return ProviderError(f"upstream connection failed: {exc}", retryable=True)


def usage_of(raw: Any) -> Usage | None:
    if raw is None:
        return None
    details = getattr(raw, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
    return Usage(input_tokens=raw.prompt_tokens or 0, output_tokens=raw.completion_tokens or 0, cached_tokens=cached)


class OpenAICompatProvider(Provider):
    kind = "openai"

    def __init__(self, name: str, base_url: str | None, api_key: str | None, timeout: float = 60) -> None:
        super().__init__(name)
        self.client = openai.AsyncOpenAI(
            base_url=base_url or None, api_key=api_key or "none", timeout=timeout, max_retries=0
        )  # routing does the retries

    def _params(self, request: ChatRequest, upstream_model: str) -> dict[str, Any]:
        params: dict[str, Any] = {"model": upstream_model, "messages": [to_openai(m) for m in request.messages]}
        if request.max_tokens is not None:
            params["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.tools:
            params["tools"] = request.tools
        if request.tool_choice is not None:
            params["tool_choice"] = request.tool_choice
        return params

    async def chat(self, request: ChatRequest, upstream_model: str) -> ChatResult:
        try:
            resp = await self.client.chat.completions.create(**self._params(request, upstream_model))
        except openai.APIError as exc:
            raise provider_error(exc) from exc
        if not resp.choices:
            raise ProviderError("upstream sent no choices", retryable=True)
        choice = resp.choices[0]
        text = choice.message.content or ""
        calls = [ToolCall(c.id, c.function.name, c.function.arguments or "") for c in choice.message.tool_calls or []]
        usage = usage_of(resp.usage) or Usage(
            tokens.count_messages(request.messages, request.tools),
            tokens.count(text) + sum(tokens.count(c.name + " " + c.arguments) for c in calls),
        )
        return ChatResult(text=text, tool_calls=calls, finish_reason=choice.finish_reason or "stop", usage=usage)

    async def stream(self, request: ChatRequest, upstream_model: str) -> AsyncIterator[Delta]:
        try:
            upstream = await self.client.chat.completions.create(
                **self._params(request, upstream_model), stream=True, stream_options={"include_usage": True}
            )
        except openai.APIError as exc:
            raise provider_error(exc) from exc
        finish, usage, out_text = None, None, []
        try:
            async for chunk in upstream:
                if chunk.usage is not None:
                    usage = usage_of(chunk.usage)
                for choice in chunk.choices[:1]:
                    d = choice.delta
                    calls = [
                        ToolCallDelta(
                            index=c.index,
                            id=c.id,
                            name=c.function.name if c.function else None,
                            arguments=(c.function.arguments or "") if c.function else "",
                        )
                        for c in d.tool_calls or []
                    ]
                    if d.content or calls:
                        out_text.append(d.content or "")
                        out_text += [f"{c.name or ''} {c.arguments}" for c in calls]
                        yield Delta(text=d.content or "", tool_calls=calls)
                    if choice.finish_reason:
                        finish = choice.finish_reason
        except openai.APIError as exc:
            raise provider_error(exc) from exc
        finally:
            with contextlib.suppress(Exception):
                await upstream.close()
        if finish is None:
            raise ProviderError("upstream stream ended before the reply was complete", retryable=True)
        if usage is None:  # a server that ignores include_usage: count locally
            usage = Usage(tokens.count_messages(request.messages, request.tools), tokens.count(" ".join(out_text)))
        yield Delta(finish_reason=finish, usage=usage)

    async def embed(self, texts: list[str], upstream_model: str) -> list[list[float]]:
        try:
            resp = await self.client.embeddings.create(model=upstream_model, input=texts)
        except openai.APIError as exc:
            raise provider_error(exc) from exc
        return [item.embedding for item in sorted(resp.data, key=lambda d: d.index)]

    async def moderate(self, text: str, upstream_model: str | None = None) -> dict:
        try:
            kw = {"model": upstream_model} if upstream_model else {}
            resp = await self.client.moderations.create(input=text, **kw)
        except openai.APIError as exc:
            raise provider_error(exc) from exc
        result = resp.results[0]
        return {
            "flagged": result.flagged,  # categories by OpenAI's names ("self-harm/intent")
            "categories": json.loads(result.categories.model_dump_json(by_alias=True)),
        }

    async def close(self) -> None:
        await self.client.close()
