"""Gateway money under stress: a client that disconnects mid-stream, 100 parallel requests, embeddings."""

from __future__ import annotations

# ruff: noqa: F811 - pytest fixtures imported from other test modules
import asyncio
import json
import time
import uuid

import httpx
import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from smile.ai.catalog import Model
from smile.ai.types import Usage
from smile.kit import runtime
from tests.hub.test_gateway import ASK, account, balance, key_spent, usage_rows  # noqa: F401 - fixture
from tests.support import LiveServer

WORDS = 400
SLOW = Model("slow", "slow", "slow-up", 10_000, 30_000, 0, 8192, True, ())


class SlowStub:
    """An OpenAI-compatible upstream that streams WORDS words slowly (so a client can leave mid-reply)."""

    def __init__(self) -> None:
        self.closed_early = 0
        self.server = LiveServer(Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])]))

    async def chat(self, request: Request) -> StreamingResponse:
        body = await request.json()

        async def events():
            base = {"id": "chatcmpl-slow", "object": "chat.completion.chunk", "created": 1, "model": body["model"]}
            try:
                for i in range(WORDS):
                    data = {**base, "choices": [{"index": 0, "delta": {"content": f" w{i}"}, "finish_reason": None}]}
                    yield f"data: {json.dumps(data)}\n\n"
                    await asyncio.sleep(0.02)
                data = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                yield f"data: {json.dumps(data)}\n\n"
                yield "data: [DONE]\n\n"
            except (asyncio.CancelledError, GeneratorExit):
                self.closed_early += 1
                raise

        return StreamingResponse(events(), media_type="text/event-stream")


@pytest.fixture(scope="module")
def slow_stub():
    stub = SlowStub()
    stub.server.start()
    yield stub
    stub.server.stop()


def wait_for(check, seconds: float = 20.0):
    """Poll until `check()` is truthy (the server settles after the client has gone)."""
    deadline = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)
    return value


def test_client_disconnect_mid_stream_is_charged_for_delivered_tokens_only(
    account, settings, slow_stub, server, db, monkeypatch
):
    monkeypatch.setattr(
        runtime.current(),
        "settings",
        settings.model_copy(
            update={
                "ai_providers": f"slow|openai|{slow_stub.server.url}/v1|sk-test",
                "ai_models": "slow|slow|slow-up|10000|30000|0|8192|",
            }
        ),
    )
    api, key, _ = account()
    body = {"model": "slow", "messages": ASK, "max_tokens": 1000, "stream": True}
    got = []
    with (
        httpx.Client(base_url=server.url, timeout=30) as http,
        http.stream(
            "POST", "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key['secret']}"}
        ) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: ") and '"content":" w' in line:
                got.append(line)
            if len(got) == 3:
                break
    user = api.user["id"]
    row = wait_for(lambda: [r for r in usage_rows(db, user) if r[0] != "pending"])[0]
    status, _, key_id, stream, input_tokens, output_tokens, credits = row
    assert (status, key_id, stream) == ("client_cancelled", uuid.UUID(key["id"]), True)
    assert 3 <= output_tokens < WORDS * 2  # each " wN" is two tokens; far from the whole reply
    assert credits == SLOW.cost(Usage(input_tokens, output_tokens)) > 0
    wait_for(lambda: key_spent(db, key["id"]) == credits)  # the key is settled right after the wallet
    after = balance(server, user)
    assert (after.balance, after.held) == (10_000 - credits, 0)
    wait_for(lambda: slow_stub.closed_early >= 1)  # the upstream request was cancelled too


def test_hundred_parallel_requests_from_a_wallet_that_affords_ten(account, server, db):
    api, key, _ = account(credits=10, rpm_limit=1000)
    sdk = openai.AsyncOpenAI(base_url=server.url + "/v1", api_key=key["secret"], max_retries=0, timeout=60)

    async def one(i: int) -> int:
        try:
            reply = await sdk.chat.completions.create(model="offline", messages=ASK, max_tokens=10, stream=i % 2 == 0)
            if i % 2 == 0:
                assert [chunk async for chunk in reply][-1].choices[0].finish_reason in ("stop", "length")
            return 200
        except openai.APIStatusError as exc:
            return exc.status_code

    async def main():
        try:
            return await asyncio.gather(*(one(i) for i in range(100)))
        finally:
            await sdk.close()

    statuses = asyncio.run(main())
    assert sorted(set(statuses)) == [200, 402] and statuses.count(200) == 10  # each call costs exactly 1
    after = balance(server, api.user["id"])
    assert (after.balance, after.held) == (0, 0)
    rows = usage_rows(db, api.user["id"])
    assert sum(r[6] for r in rows) == 10 and [r[0] for r in rows].count("ok") == 10
    assert key_spent(db, key["id"]) == 10


def test_embeddings_through_the_sdk_are_metered_on_input_tokens(account, server, db):
    api, key, sdk = account()
    reply = sdk.embeddings.create(model="all-MiniLM-L6-v2", input=["hello world", "a second text"])
    assert [d.index for d in reply.data] == [0, 1] and all(len(d.embedding) == 384 for d in reply.data)
    assert reply.usage.prompt_tokens == reply.usage.total_tokens == 5
    as_floats = httpx.post(
        server.url + "/v1/embeddings",
        headers={"Authorization": f"Bearer {key['secret']}"},
        json={"model": "all-MiniLM-L6-v2", "input": "hello world"},
    ).json()
    assert as_floats["data"][0]["embedding"] == pytest.approx(reply.data[0].embedding, abs=1e-6)
    rows = usage_rows(db, api.user["id"])
    assert [(r[0], r[1], r[4], r[5], r[6]) for r in rows] == [
        ("ok", "all-MiniLM-L6-v2", 5, 0, 1),
        ("ok", "all-MiniLM-L6-v2", 2, 0, 1),
    ]
    assert balance(server, api.user["id"]).balance == 10_000 - 2 and key_spent(db, key["id"]) == 2
    with pytest.raises(openai.NotFoundError):
        sdk.embeddings.create(model="text-embedding-3-small", input="hi")
    with pytest.raises(openai.BadRequestError):
        sdk.embeddings.create(model="all-MiniLM-L6-v2", input=[""])
    _, _, chat_only = account(scopes=["chat"])
    with pytest.raises(openai.PermissionDeniedError):
        chat_only.embeddings.create(model="all-MiniLM-L6-v2", input="hi")
    _, _, broke = account(credits=0)
    with pytest.raises(openai.APIStatusError) as caught:
        broke.embeddings.create(model="all-MiniLM-L6-v2", input="hi")
    assert caught.value.status_code == 402
