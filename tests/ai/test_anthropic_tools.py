"""Anthropic tool calls: the stub's tool_use block mapped onto our ToolCall / ToolCallDelta, with usage."""

from __future__ import annotations

import asyncio
import json

from smile.ai import service
from smile.ai.providers.anthropic import AnthropicProvider
from smile.ai.types import ChatRequest, Message
from tests.ai.stubs import TOOL_INPUT, prompt_tokens
from tests.ai_fixtures import fund

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather by city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
ASK = [Message("user", "What is the weather in Paris?")]


def request(stream: bool = False) -> ChatRequest:
    return ChatRequest("claude", ASK, max_tokens=100, tools=[WEATHER], tool_choice="auto", stream=stream)


def provider_run(anthropic_stub, fn):
    async def main():
        provider = AnthropicProvider("anth", anthropic_stub.url, "ak-test", timeout=5)
        try:
            return await fn(provider)
        finally:
            await provider.close()

    return asyncio.run(main())


def test_chat_returns_the_tool_call_and_usage(anthropic_stub):
    anthropic_stub.reset()
    result = provider_run(anthropic_stub, lambda p: p.chat(request(), "claude-stub"))
    [call] = result.tool_calls
    assert (call.id, call.name, json.loads(call.arguments)) == ("toolu_stub1", "get_weather", TOOL_INPUT)
    assert result.text == "Let me check." and result.finish_reason == "tool_calls"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (prompt_tokens([m.__dict__ for m in ASK]), 7)
    [sent] = anthropic_stub.requests  # our OpenAI-shaped tool became Anthropic's shape
    assert sent["tools"] == [
        {"name": "get_weather", "description": "Weather by city", "input_schema": WEATHER["function"]["parameters"]}
    ]
    assert sent["tool_choice"] == {"type": "auto"}


def test_stream_carries_the_tool_call_in_deltas_and_usage_at_the_end(anthropic_stub):
    anthropic_stub.reset()

    async def go(provider):
        return [d async for d in provider.stream(request(stream=True), "claude-stub")]

    deltas = provider_run(anthropic_stub, go)
    assert "".join(d.text for d in deltas) == "Let me check."
    calls = [c for d in deltas for c in d.tool_calls]
    assert {c.index for c in calls} == {0}  # the first tool call, though it is content block 1
    assert [(c.id, c.name) for c in calls if c.id] == [("toolu_stub1", "get_weather")]
    assert len([c for c in calls if c.arguments]) > 1  # the arguments arrived in pieces
    assert json.loads("".join(c.arguments for c in calls)) == TOOL_INPUT
    last = deltas[-1]
    assert last.finish_reason == "tool_calls"
    assert (last.usage.input_tokens, last.usage.output_tokens) == (prompt_tokens([m.__dict__ for m in ASK]), 7)


def test_service_meters_a_streamed_tool_call(ai_settings, make_user, run, db):
    user = make_user()

    async def go(database):
        await fund(database, user, 10_000)
        return [d async for d in service.stream(database.session, user, request(stream=True), settings=ai_settings)]

    deltas = run(go)
    calls = [c for d in deltas for c in d.tool_calls]
    assert json.loads("".join(c.arguments for c in calls)) == TOOL_INPUT
    assert deltas[-1].finish_reason == "tool_calls" and deltas[-1].credits > 0
    row = db.execute(
        "SELECT status, provider, output_tokens, stream FROM ai_usage WHERE user_id = %s", (user,)
    ).fetchone()
    assert row == ("ok", "anth", 7, True)
