"""Embeddings from an OpenAI-compatible endpoint: a local stub server driven by the official SDK."""

from __future__ import annotations

import asyncio
import hashlib
import math

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from smile.ai import embeddings
from tests.support import LiveServer


class EmbeddingsStub:
    """POST /v1/embeddings: deterministic vectors of `dimensions` from each input's hash; records requests."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.dimensions = 384
        self.fail = False
        app = Starlette(routes=[Route("/v1/embeddings", self.embeddings, methods=["POST"])])
        self.server = LiveServer(app)

    async def embeddings(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append({"body": body, "authorization": request.headers.get("authorization")})
        if self.fail:
            return JSONResponse({"error": {"message": "bad key", "type": "invalid_request_error"}}, status_code=401)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = []
        for index, text in enumerate(inputs):
            seed = hashlib.sha256(text.encode()).digest()
            vector = [(seed[i % 32] - 128) / 10 for i in range(self.dimensions)]
            data.append({"object": "embedding", "index": index, "embedding": vector})
        data.reverse()  # the API does not promise order: the client sorts by index
        return JSONResponse(
            {"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 3, "total_tokens": 3}}
        )


@pytest.fixture(scope="module")
def stub():
    stub = EmbeddingsStub()
    stub.server.start()
    yield stub
    stub.server.stop()


@pytest.fixture
def remote(settings, stub):
    stub.requests.clear()
    stub.dimensions, stub.fail = 384, False
    return settings.model_copy(
        update={
            "embeddings_url": stub.server.url + "/v1",
            "embeddings_api_key": "sk-test",
            "embeddings_model": "stub-embed",
        }
    )


def test_endpoint_vectors(remote, stub):
    vectors = asyncio.run(embeddings.embed(["first", "second"], remote))
    assert [len(v) for v in vectors] == [384, 384]
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-9 for v in vectors)
    [first] = asyncio.run(embeddings.embed(["first"], remote))
    assert first == vectors[0]  # order restored from "index"
    assert stub.requests[0]["body"]["model"] == "stub-embed"
    assert stub.requests[0]["body"]["input"] == ["first", "second"]
    assert stub.requests[0]["authorization"] == "Bearer sk-test"
    assert embeddings.model_name(remote) == "stub-embed"
    ok, detail = embeddings.describe(remote)
    assert ok and "stub-embed" in detail


def test_wrong_dimensions_and_errors_are_clear(remote, stub):
    stub.dimensions = 1536
    with pytest.raises(embeddings.EmbeddingsUnavailable, match="1536.*384") as info:
        asyncio.run(embeddings.embed(["x"], remote))
    assert info.value.status == 503 and info.value.code == "embeddings_unavailable"
    stub.dimensions, stub.fail = 384, True
    with pytest.raises(embeddings.EmbeddingsUnavailable, match="endpoint failed"):
        asyncio.run(embeddings.embed(["x"], remote))
    with pytest.raises(ValueError, match="at most"):
        asyncio.run(embeddings.embed(["x"] * (embeddings.MAX_TEXTS + 1), remote))
