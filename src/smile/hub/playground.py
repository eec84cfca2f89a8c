"""hub: the playground — pick a model, set a system prompt and chat, streamed, paid from your credits.

The page posts each turn to /hub/playground/chat (browser session + CSRF header) and reads the reply
as server-sent events: `start`, then `delta`s with a running token and credit estimate, then `done`
with the exact settled cost and the new balance (or `error` when the model stops mid-reply).
Refusals before the first byte (402 credits, 404 model, 429, 502) are ordinary JSON error responses.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field, field_validator

from smile.ai import catalog, tokens
from smile.ai import service as ai
from smile.ai.types import ChatRequest, Delta, Message, Usage
from smile.billing.credits import service as credits
from smile.identity.auth import DB, CurrentUser
from smile.kit import runtime
from smile.kit.errors import AppError, responses
from smile.kit.requests import DBRoute
from smile.web.render import render

router = APIRouter(route_class=DBRoute, include_in_schema=False)

SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=20_000)


class PlaygroundChat(BaseModel):
    model: str = Field(min_length=1, max_length=100)
    system: str = Field("", max_length=8_000)
    messages: list[Turn] = Field(min_length=1, max_length=100)
    max_tokens: int | None = Field(None, ge=1, le=32_768)

    @field_validator("messages")
    @classmethod
    def _ends_with_user(cls, turns: list[Turn]) -> list[Turn]:
        if turns[-1].role != "user":
            raise ValueError("The last message must be yours.")
        return turns

    def request(self) -> ChatRequest:
        system = [Message("system", self.system.strip())] if self.system.strip() else []
        return ChatRequest(model=self.model, messages=system + [Message(t.role, t.content) for t in self.messages],
                           max_tokens=self.max_tokens, stream=True)


@router.get("/hub/playground", response_class=HTMLResponse)
async def playground_page(request: Request, me: CurrentUser, db: DB, model: str = "") -> HTMLResponse:
    settings = runtime.current().settings
    models = await catalog.all_models(db, enabled_only=True)
    if "offline" not in {m.id for m in models}:
        await catalog.ensure_seeded(db, settings)
        models = await catalog.all_models(db, enabled_only=True)
    ids = [m.id for m in models]
    chosen = model if model in ids else settings.ai_default_model if settings.ai_default_model in ids else ids[0]
    wallet = await credits.wallet_balance(db, me.id)
    return render(request, "hub/playground.html", {"models": models, "chosen": chosen, "wallet": wallet})


def _event(kind: str, data: dict) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _after(user_id, served: str | None) -> dict:
    """The settled wallet and whether the model that answered is the offline one (own short session)."""
    async with runtime.current().db.session() as db:
        wallet = await credits.wallet_balance(db, user_id)
        models = {m.id: m for m in await catalog.all_models(db)}
    model = models.get(served or "")
    return {"balance": wallet.balance, "available": wallet.available,
            "provider": model.provider if model else None, "offline": bool(model and model.provider == "offline")}


async def _events(user_id, deltas: AsyncIterator[Delta], first: Delta, priced: catalog.Model | None,
                  prompt: int) -> AsyncIterator[bytes]:
    text: list[str] = []
    delta: Delta | None = first
    try:
        while delta is not None:
            if delta.text:
                text.append(delta.text)
                out = tokens.count("".join(text))
                estimate = priced.cost(Usage(prompt, out)) if priced else None
                yield _event("delta", {"text": delta.text, "output_tokens": out, "credits_estimate": estimate})
            if delta.finish_reason is not None and delta.request_id:
                usage = delta.usage or Usage()
                done = {"model": delta.model, "finish_reason": delta.finish_reason, "credits": delta.credits or 0,
                        "request_id": delta.request_id, "input_tokens": usage.input_tokens,
                        "output_tokens": usage.output_tokens, "cached_tokens": usage.cached_tokens}
                yield _event("done", {**done, **await _after(user_id, delta.model)})
                return
            delta = await anext(deltas, None)
    except AppError as exc:  # the model stopped mid-reply: what was delivered is charged
        yield _event("error", {"error": exc.code, "detail": exc.message, **await _after(user_id, None)})
    finally:
        await deltas.aclose()  # settles now when the browser went away (Stop, or a closed tab)


@router.post("/hub/playground/chat", responses=responses(401, 403, 404, 422, 429))
async def playground_chat(body: PlaygroundChat, me: CurrentUser, db: DB) -> StreamingResponse:
    """Stream one reply for the signed-in user; the first delta is awaited here so refusals are plain errors."""
    rt = runtime.current()
    await rt.limiter.hit(f"{rt.settings.hub_user_rpm}/minute", "hub-playground", str(me.id),
                         message="You are sending playground messages too quickly.")
    request = body.request()
    priced = next((m for m in await catalog.all_models(db) if m.id == body.model), None)
    prompt = tokens.count_messages(request.messages)
    deltas = ai.stream(rt.db.session, me.id, request)
    first = await anext(deltas)  # reserves credits and connects: 402/404/429/502 raise here
    start = {"model": body.model, "input_tokens": prompt,
             "offline_expected": bool(priced and priced.provider == "offline")}

    async def body_iter() -> AsyncIterator[bytes]:
        yield _event("start", start)
        async for chunk in _events(me.id, deltas, first, priced, prompt):
            yield chunk

    return StreamingResponse(body_iter(), media_type="text/event-stream", headers=SSE_HEADERS)
