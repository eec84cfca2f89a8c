"""Anthropic provider through the official `anthropic` SDK, its events mapped onto our deltas.

Usage: `message_start` carries the input tokens (cache reads apart), `message_delta` the cumulative
output tokens; both are normalized to Usage (input includes cached tokens).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic

from smile.ai.providers.base import Provider
from smile.ai.providers.openai_compat import provider_error
from smile.ai.types import ChatRequest, ChatResult, Delta, Message, ProviderError, ToolCall, ToolCallDelta, Usage

STOP = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
DEFAULT_MAX = 1024


def _arguments(text: str) -> Any:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return {}


def to_anthropic(messages: list[Message]) -> tuple[str, list[dict]]:
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    out: list[dict] = []
    for m in messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": m.content}
            out.append({"role": "user", "content": [block]})
        elif m.tool_calls:
            blocks = [{"type": "text", "text": m.content}] if m.content else []
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": _arguments(c.arguments)} for c in m.tool_calls
            ]
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": m.role, "content": m.content})
    return system, out


def _tool_choice(choice: Any) -> dict | None:
    if choice is None:
        return None
    if isinstance(choice, str):
        return {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}.get(choice)
    name = (choice.get("function") or {}).get("name")
    return {"type": "tool", "name": name} if name else None


def usage_of(raw: Any) -> Usage:
    cached = getattr(raw, "cache_read_input_tokens", None) or 0
    created = getattr(raw, "cache_creation_input_tokens", None) or 0
    return Usage(
        input_tokens=(getattr(raw, "input_tokens", None) or 0) + cached + created,
        output_tokens=getattr(raw, "output_tokens", None) or 0,
        cached_tokens=cached,
    )


class AnthropicProvider(Provider):
    kind = "anthropic"

    def __init__(self, name: str, base_url: str | None, api_key: str | None, timeout: float = 60) -> None:
        super().__init__(name)
        self.client = anthropic.AsyncAnthropic(
            base_url=base_url or None, api_key=api_key or "none", timeout=timeout, max_retries=0
        )

    def _params(self, request: ChatRequest, upstream_model: str) -> dict[str, Any]:
        system, messages = to_anthropic(request.messages)
        params: dict[str, Any] = {
            "model": upstream_model,
            "messages": messages,
            "max_tokens": request.max_tokens or DEFAULT_MAX,
        }
        if system:
            params["system"] = system
        if request.temperature is not None:
            params["temperature"] = min(1.0, request.temperature)
        if request.tools:
            params["tools"] = [
                {
                    "name": t["function"]["name"],
                    "description": t["function"].get("description", ""),
                    "input_schema": t["function"].get("parameters") or {"type": "object"},
                }
                for t in request.tools
                if t.get("type", "function") == "function"
            ]
        if (choice := _tool_choice(request.tool_choice)) is not None:
            params["tool_choice"] = choice
        return params

    async def chat(self, request: ChatRequest, upstream_model: str) -> ChatResult:
        try:
            msg = await self.client.messages.create(**self._params(request, upstream_model))
        except anthropic.APIError as exc:
            raise provider_error(exc) from exc
        text = "".join(b.text for b in msg.content if b.type == "text")
        calls = [ToolCall(b.id, b.name, json.dumps(b.input)) for b in msg.content if b.type == "tool_use"]
        return ChatResult(
            text=text,
            tool_calls=calls,
            finish_reason=STOP.get(msg.stop_reason or "", "stop"),
            usage=usage_of(msg.usage),
        )

    async def stream(self, request: ChatRequest, upstream_model: str) -> AsyncIterator[Delta]:
        try:
            upstream = await self.client.messages.create(**self._params(request, upstream_model), stream=True)
        except anthropic.APIError as exc:
            raise provider_error(exc) from exc
        usage, finish, done = Usage(), None, False
        tools: dict[int, int] = {}  # content block index -> tool call index
        try:
            async for event in upstream:
                if event.type == "message_start":
                    usage = usage_of(event.message.usage)
                    yield Delta(usage=usage)  # the input tokens, before any content
                elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                    tools[event.index] = len(tools)
                    block = event.content_block
                    yield Delta(tool_calls=[ToolCallDelta(index=tools[event.index], id=block.id, name=block.name)])
                elif event.type == "content_block_delta":
                    if event.delta.type == "text_delta" and event.delta.text:
                        yield Delta(text=event.delta.text)
                    elif event.delta.type == "input_json_delta" and event.delta.partial_json:
                        yield Delta(
                            tool_calls=[
                                ToolCallDelta(index=tools.get(event.index, 0), arguments=event.delta.partial_json)
                            ]
                        )
                elif event.type == "message_delta":
                    finish = STOP.get(event.delta.stop_reason or "", "stop")
                    latest = usage_of(event.usage)  # cumulative; input counts only when the API repeats them
                    usage = Usage(
                        latest.input_tokens or usage.input_tokens,
                        latest.output_tokens,
                        latest.cached_tokens or usage.cached_tokens,
                    )
                elif event.type == "message_stop":
                    done = True
        except anthropic.APIError as exc:
            raise provider_error(exc) from exc
        finally:
            with contextlib.suppress(Exception):
                await upstream.close()
        if not done or finish is None:
            raise ProviderError("upstream stream ended before the reply was complete", retryable=True)
        yield Delta(finish_reason=finish, usage=usage)

    async def close(self) -> None:
        await self.client.close()
