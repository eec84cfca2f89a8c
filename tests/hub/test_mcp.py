"""The MCP server at /mcp, driven by the official `mcp` SDK client over Streamable HTTP with an API key."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import asynccontextmanager

import httpx
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from smile.kit import runtime
from tests.ai_fixtures import fund
from tests.hub.conftest import bearer

TOOLS = {"chat", "ask_agent", "credit_balance", "usage", "search_posts"}


@asynccontextmanager
async def mcp_session(url: str, secret: str | None):
    headers = bearer(secret) if secret else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def call(server, secret: str, *calls: tuple[str, dict]) -> list:
    """Open one MCP session with `secret` and make the tool calls in order; returns their results."""

    async def go():
        async with mcp_session(server.url, secret) as session:
            return [await session.call_tool(name, args) for name, args in calls]

    return asyncio.run(go())


def data(result) -> dict:
    assert not result.is_error, result.content
    assert result.structured_content == json.loads(result.content[0].text)
    return result.structured_content


def error(result) -> str:
    assert result.is_error
    return result.content[0].text


@pytest.fixture
def priced(db):
    """The offline model at 1 credit per token (in and out), so every call costs something."""
    db.execute(
        "INSERT INTO ai_models (id, provider, upstream_model, input_credits_per_m, output_credits_per_m, "
        "cached_credits_per_m, context_window, enabled, fallbacks, position) VALUES "
        "('offline', 'offline', 'offline', 1000000, 1000000, 1000000, 32768, true, '{}', 1000) "
        "ON CONFLICT (id) DO UPDATE SET input_credits_per_m = 1000000, output_credits_per_m = 1000000"
    )


@pytest.fixture
def funded(server, signup):
    def make(amount: int):
        api = signup()
        server.call(fund(runtime.current().db, uuid.UUID(api.user["id"]), amount))
        return api

    return make


def test_lists_tools_with_their_schemas(server, signup, make_key):
    key = make_key(signup(), scopes=["mcp"])

    async def go():
        async with mcp_session(server.url, key["secret"]) as session:
            return (await session.list_tools()).tools

    tools = {t.name: t for t in asyncio.run(go())}
    assert set(tools) == TOOLS
    assert tools["search_posts"].input_schema["required"] == ["query"]
    assert tools["credit_balance"].annotations.read_only_hint is True


def test_chat_is_billed_through_the_ledger(server, funded, make_key, db, priced):
    alice = funded(10_000)
    key = make_key(alice, scopes=["mcp"])
    before, reply, after, usage = call(
        server,
        key["secret"],
        ("credit_balance", {}),
        ("chat", {"prompt": "Say hello to the hub", "max_tokens": 40}),
        ("credit_balance", {}),
        ("usage", {"days": 1}),
    )
    before, reply, after, usage = data(before), data(reply), data(after), data(usage)

    assert reply["offline"] is True and reply["model"] == "offline" and reply["text"]
    row = db.execute(
        "SELECT status, credits, input_tokens, output_tokens, api_key_id, user_id FROM ai_usage WHERE id = %s",
        (reply["request_id"],),
    ).fetchone()
    assert row[0] == "ok" and str(row[4]) == key["id"] and str(row[5]) == alice.user["id"]
    assert row[1] == reply["credits"] == row[2] + row[3] > 0  # 1 credit per token
    assert (reply["usage"]["input_tokens"], reply["usage"]["output_tokens"]) == (row[2], row[3])
    assert before["balance"] == 10_000 and after["balance"] == before["balance"] - reply["credits"]
    assert after["held"] == 0 and after["available"] == after["balance"]
    assert after["key"]["spent_credits"] == reply["credits"]  # the key's reservation was settled to the cost
    assert alice.get("/api/v1/billing/credits/wallet").json()["balance"] == after["balance"]

    assert usage["totals"] == {
        "requests": 1,
        "input_tokens": row[2],
        "output_tokens": row[3],
        "credits": reply["credits"],
    }
    assert [r["request_id"] for r in usage["recent"]] == [reply["request_id"]]
    assert usage["recent"][0]["via_this_key"] is True and usage["by_model"][0]["model"] == "offline"


def test_chat_takes_messages_and_a_system_prompt(server, funded, make_key, priced):
    key = make_key(funded(10_000), scopes=["mcp"])
    (reply,) = call(
        server,
        key["secret"],
        (
            "chat",
            {
                "model": "offline",
                "system": "You are terse.",
                "messages": [
                    {"role": "user", "content": "What is smile?"},
                    {"role": "assistant", "content": "A community platform."},
                    {"role": "user", "content": "Tell me about credits"},
                ],
            },
        ),
    )
    assert data(reply)["finish_reason"] and data(reply)["credits"] > 0


def test_chat_refusals_are_tool_errors(server, funded, signup, make_key, db, priced):
    broke = make_key(signup(), scopes=["mcp"])
    (poor,) = call(server, broke["secret"], ("chat", {"prompt": "hello", "max_tokens": 20}))
    assert "[insufficient_funds]" in error(poor)

    alice = funded(10_000)
    limited = make_key(alice, scopes=["mcp"], credit_limit=30, allowed_models=["offline"])
    capped, other, empty, zero = call(
        server,
        limited["secret"],
        ("chat", {"prompt": "hello there", "max_tokens": 500}),
        ("chat", {"model": "gpt-4o", "prompt": "hi"}),
        ("chat", {"messages": []}),
        ("chat", {"model": "offline", "prompt": "x" * 10, "max_tokens": 0}),
    )
    assert "[key_credit_limit_reached]" in error(capped)
    assert "[model_not_allowed]" in error(other)
    assert "[invalid_request]" in error(empty)
    assert "max_tokens" in error(zero)  # below 1: refused by the tool's input schema
    assert db.execute("SELECT count(*) FROM ai_usage").fetchone()[0] == 1  # only the broke wallet's attempt
    assert db.execute("SELECT spent_credits FROM hub_api_keys WHERE id = %s", (limited["id"],)).fetchone()[0] == 0

    open_key = make_key(alice, scopes=["mcp"])
    (missing,) = call(server, open_key["secret"], ("chat", {"model": "no-such-model", "prompt": "hi"}))
    assert "[model_not_found]" in error(missing)


def test_key_credit_limit_bounds_max_tokens(server, funded, make_key, db, priced):
    alice = funded(10_000)
    key = make_key(alice, scopes=["mcp"], credit_limit=60)
    (reply,) = call(server, key["secret"], ("chat", {"prompt": "Tell me a long story about ledgers"}))
    spent = db.execute("SELECT spent_credits FROM hub_api_keys WHERE id = %s", (key["id"],)).fetchone()[0]
    assert spent == data(reply)["credits"] <= 60


def test_tool_calls_count_against_the_key_rate_limit(server, signup, make_key):
    key = make_key(signup(), scopes=["mcp"], rpm_limit=2)
    first, second, third = call(server, key["secret"], ("credit_balance", {}), ("usage", {}), ("credit_balance", {}))
    assert data(first)["balance"] == 0 and data(second)["totals"]["requests"] == 0
    assert "[rate_limit_exceeded]" in error(third)


def test_search_posts_finds_public_posts_only(server, signup, make_key):
    alice = signup()
    public = alice.post("/api/v1/posts", json={"body": "Ledgers are zebrafish friendly"})
    assert public.status_code == 201, public.text
    hidden = alice.post("/api/v1/posts", json={"body": "Private zebrafish notes", "visibility": "followers"})
    assert hidden.status_code == 201, hidden.text
    key = make_key(alice, scopes=["mcp"])  # even the author's own key sees only what anyone may see
    found, none, bad = call(
        server,
        key["secret"],
        ("search_posts", {"query": "zebrafish"}),
        ("search_posts", {"query": "nothingmatcheshere"}),
        ("search_posts", {"query": "zebrafish", "cursor": "abc"}),
    )
    items = data(found)["items"]
    assert [p["id"] for p in items] == [public.json()["id"]]
    assert items[0]["author"] == alice.user["username"] and items[0]["url"].startswith("http://testserver.local/")
    assert data(none) == {"items": [], "next_cursor": None}
    assert "use next_cursor from a previous page" in error(bad)


def _post(server, headers: dict) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    return httpx.post(
        f"{server.url}/mcp", json=body, headers={**headers, "Accept": "application/json, text/event-stream"}
    )


def _mcp_error(exc: BaseException) -> MCPError:
    """The MCPError inside the (nested) exception groups the SDK client's task groups raise."""
    while isinstance(exc, BaseExceptionGroup):
        assert len(exc.exceptions) == 1, exc
        exc = exc.exceptions[0]
    assert isinstance(exc, MCPError), repr(exc)
    return exc


def test_refused_without_a_valid_mcp_key(server, signup, make_key):
    alice = signup()
    no_scope = make_key(alice, scopes=["chat", "models"])
    revoked = make_key(alice, scopes=["mcp"])
    assert alice.delete(f"/api/v1/hub/keys/{revoked['id']}").status_code == 200
    cases = [
        (None, 401, "missing_api_key"),
        ("sk-smile-" + "x" * 43, 401, "invalid_api_key"),
        (revoked["secret"], 401, "api_key_revoked"),
        (no_scope["secret"], 403, "missing_scope"),
    ]
    for secret, status, code in cases:
        r = _post(server, bearer(secret) if secret else {})
        assert r.status_code == status, r.text
        assert r.json()["error"]["data"] == {"status": status, "code": code}
        assert r.json()["error"]["code"] == (-32001 if status == 401 else -32003)
        if status == 401:
            assert r.headers["www-authenticate"] == "Bearer"

        with pytest.raises(BaseException) as refused:  # the SDK client shows smile's message
            call(server, secret)
        assert _mcp_error(refused.value).error.message == r.json()["error"]["message"]

    good = make_key(alice, scopes=["mcp"])
    assert _post(server, bearer(good["secret"])).status_code == 200
