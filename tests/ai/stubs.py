"""Local LLM servers for tests: an OpenAI-compatible one and an Anthropic-shaped one.

Real HTTP (uvicorn in a thread); the official SDKs talk to them. Each reply is the words of
REPLY (one word per streamed chunk, each word one completion token), cut at max_tokens; the
OpenAI stub's /v1/moderations flags texts holding a phrase of FLAGS. Tell a
stub to misbehave per upstream model with `plan(model, "500" | "429" | "stall" | "cut:N" | "say:TEXT" | "ok", ...)`:
each request for that model takes the next mode (then "ok").
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support import LiveServer

REPLY = "Hello from the stub , here are some words to stream back one at a time ."
CACHED = 3  # prompt tokens reported as cached when a prompt mentions "cache"
MODERATION_MODEL = "omni-moderation-latest"  # plan() moderation misbehaviour under this model
CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
FLAGS = {"harassment/threatening": ("i will find you",)}  # phrases the stub's moderations flag
TOOL_INPUT = {"city": "Paris", "days": 3}  # what the Anthropic stub's tool_use block passes when given tools
TOOL_JSON = json.dumps(TOOL_INPUT)


class CutOff(Exception):
    """Raised inside a streaming body: uvicorn drops the connection mid-response."""


def prompt_tokens(messages: list[dict], system: str = "") -> int:
    text = system + " ".join(str(m.get("content") or "") for m in messages)
    return 5 + len(text.split())


@dataclass
class Stub:
    requests: list[dict] = field(default_factory=list)
    stall_seconds: float = 3.0
    _plans: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: LiveServer | None = None
    closed_early: int = 0  # streams whose client went away before the end

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def start(self):
        self.server = LiveServer(self.app()).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._plans.clear()
            self.closed_early = 0

    def plan(self, model: str, *modes: str) -> None:
        with self._lock:
            self._plans[model].extend(modes)

    def _take(self, body: dict) -> str:
        with self._lock:
            self.requests.append(body)
            queue = self._plans[body.get("model", "")]
            return queue.popleft() if queue else "ok"

    def calls(self, model: str | None = None) -> list[dict]:
        return [r for r in self.requests if model is None or r.get("model") == model]

    @staticmethod
    def words(max_tokens: int | None) -> tuple[list[str], str]:
        words = REPLY.split()
        if max_tokens is not None and max_tokens < len(words):
            return words[:max_tokens], "length"
        return words, "stop"

    async def _misbehave(self, mode: str) -> Response | None:
        if mode == "500":
            return JSONResponse({"error": {"message": "boom", "type": "server_error"}}, status_code=500)
        if mode == "429":
            return JSONResponse(
                {"error": {"message": "slow down", "type": "rate_limit"}}, status_code=429, headers={"retry-after": "0"}
            )
        if mode == "stall":
            await asyncio.sleep(self.stall_seconds)
        return None

    def app(self) -> Starlette:
        raise NotImplementedError


class OpenAIStub(Stub):
    def app(self) -> Starlette:
        async def chat(request: Request) -> Response:
            body = await request.json()
            mode = self._take(body)
            if (early := await self._misbehave(mode)) is not None:
                return early
            words, finish = self.words(body.get("max_tokens"))
            if mode.startswith("say:"):  # plan(model, "say:some text"): reply with that text instead of REPLY
                words, finish = mode[4:].split(), "stop"
            prompt = prompt_tokens(body["messages"])
            cached = CACHED if "cache" in json.dumps(body["messages"]) else 0
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": len(words),
                "total_tokens": prompt + len(words),
                "prompt_tokens_details": {"cached_tokens": cached},
            }
            base = {"id": "chatcmpl-stub", "created": 1, "model": body["model"]}
            if not body.get("stream"):
                return JSONResponse(
                    {
                        **base,
                        "object": "chat.completion",
                        "usage": usage,
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": finish,
                                "message": {"role": "assistant", "content": " ".join(words)},
                            }
                        ],
                    }
                )
            cut = int(mode.split(":")[1]) if mode.startswith("cut:") else None
            include_usage = (body.get("stream_options") or {}).get("include_usage")

            def chunk(delta: dict, finish_reason=None, **extra) -> str:
                data = {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                    **extra,
                }
                return f"data: {json.dumps(data)}\n\n"

            async def events():
                sent = 0
                try:
                    yield chunk({"role": "assistant", "content": ""})
                    for i, word in enumerate(words):
                        if cut is not None and i == cut:
                            raise CutOff()
                        yield chunk({"content": word if i == 0 else " " + word})
                        sent += 1
                        await asyncio.sleep(0)
                    yield chunk({}, finish)
                    if include_usage:
                        last = {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
                        yield f"data: {json.dumps(last)}\n\n"
                    yield "data: [DONE]\n\n"
                except (asyncio.CancelledError, GeneratorExit):
                    self.closed_early += 1
                    raise

            return StreamingResponse(events(), media_type="text/event-stream")

        async def moderations(request: Request) -> Response:
            body = await request.json()
            body.setdefault("model", MODERATION_MODEL)  # what OpenAI uses when none is named
            mode = self._take(body)
            if (early := await self._misbehave(mode)) is not None:
                return early
            text = str(body.get("input") or "").lower()
            hits = {c: any(w in text for w in words) for c, words in FLAGS.items()}
            return JSONResponse(
                {
                    "id": "modr-stub",
                    "model": body["model"],
                    "results": [
                        {
                            "flagged": any(hits.values()),
                            "categories": {c: hits.get(c, False) for c in CATEGORIES},
                            "category_scores": {c: 0.99 if hits.get(c) else 0.01 for c in CATEGORIES},
                            "category_applied_input_types": {c: ["text"] for c in CATEGORIES},
                        }
                    ],
                }
            )

        async def models(request: Request) -> Response:
            return JSONResponse(
                {"object": "list", "data": [{"id": "stub", "object": "model", "created": 1, "owned_by": "stub"}]}
            )

        return Starlette(
            routes=[
                Route("/v1/chat/completions", chat, methods=["POST"]),
                Route("/v1/moderations", moderations, methods=["POST"]),
                Route("/v1/models", models),
            ]
        )


class AnthropicStub(Stub):
    def app(self) -> Starlette:
        async def messages(request: Request) -> Response:
            body = await request.json()
            mode = self._take(body)
            if (early := await self._misbehave(mode)) is not None:
                return early
            words, finish = self.words(body.get("max_tokens"))
            stop = "max_tokens" if finish == "length" else "end_turn"
            system = body.get("system") or ""
            if isinstance(system, list):
                system = " ".join(b.get("text", "") for b in system)
            prompt = prompt_tokens(body["messages"], system)
            cached = CACHED if "cache" in json.dumps(body["messages"]) else 0
            base = {"id": "msg_stub", "type": "message", "role": "assistant", "model": body["model"]}
            if body.get("tools"):
                return self.tool_use(body, base, prompt)
            if not body.get("stream"):
                return JSONResponse(
                    {
                        **base,
                        "content": [{"type": "text", "text": " ".join(words)}],
                        "stop_reason": stop,
                        "stop_sequence": None,
                        "usage": {
                            "input_tokens": prompt - cached,
                            "output_tokens": len(words),
                            "cache_read_input_tokens": cached,
                            "cache_creation_input_tokens": 0,
                        },
                    }
                )
            cut = int(mode.split(":")[1]) if mode.startswith("cut:") else None

            def event(name: str, data: dict) -> str:
                return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

            async def events():
                yield event(
                    "message_start",
                    {
                        "message": {
                            **base,
                            "content": [],
                            "stop_reason": None,
                            "stop_sequence": None,
                            "usage": {
                                "input_tokens": prompt - cached,
                                "output_tokens": 1,
                                "cache_read_input_tokens": cached,
                                "cache_creation_input_tokens": 0,
                            },
                        }
                    },
                )
                yield event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
                for i, word in enumerate(words):
                    if cut is not None and i == cut:
                        raise CutOff()
                    yield event(
                        "content_block_delta",
                        {"index": 0, "delta": {"type": "text_delta", "text": word if i == 0 else " " + word}},
                    )
                    if i == len(words) // 2:  # cumulative usage part way, like the real API may send
                        yield event("ping", {})
                    await asyncio.sleep(0)
                yield event("content_block_stop", {"index": 0})
                yield event(
                    "message_delta",
                    {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": len(words)}},
                )
                yield event("message_stop", {})

            return StreamingResponse(events(), media_type="text/event-stream")

        return Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])])

    @staticmethod
    def tool_use(body: dict, base: dict, prompt: int) -> Response:
        """A short text block, then a tool_use block calling the first tool with TOOL_INPUT."""
        tool = {"type": "tool_use", "id": "toolu_stub1", "name": body["tools"][0]["name"]}
        intro, out = "Let me check.", 7
        usage = {
            "input_tokens": prompt,
            "output_tokens": out,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        }
        if not body.get("stream"):
            return JSONResponse(
                {
                    **base,
                    "content": [{"type": "text", "text": intro}, {**tool, "input": TOOL_INPUT}],
                    "stop_reason": "tool_use",
                    "stop_sequence": None,
                    "usage": usage,
                }
            )

        def event(name: str, data: dict) -> str:
            return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

        async def events():
            yield event(
                "message_start",
                {
                    "message": {
                        **base,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {**usage, "output_tokens": 1},
                    }
                },
            )
            yield event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
            yield event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": intro}})
            yield event("content_block_stop", {"index": 0})
            yield event("content_block_start", {"index": 1, "content_block": {**tool, "input": {}}})
            for i in range(0, len(TOOL_JSON), 8):  # the arguments arrive in pieces
                yield event(
                    "content_block_delta",
                    {"index": 1, "delta": {"type": "input_json_delta", "partial_json": TOOL_JSON[i : i + 8]}},
                )
            yield event("content_block_stop", {"index": 1})
            yield event(
                "message_delta",
                {"delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": out}},
            )
            yield event("message_stop", {})

        return StreamingResponse(events(), media_type="text/event-stream")
