"""hub: the playground — pick a model, set a system prompt and chat, streamed, paid from your credits.

The page posts each turn to /hub/playground/chat (browser session + CSRF header) and reads the reply
as server-sent events: `start`, then `delta`s with a running token and credit estimate, then `done`
with the exact settled cost and the new balance (or `error` when the model stops mid-reply); the call
and its events are smile.hub.chat.playground. Refusals before the first byte (402 credits, 404 model,
429, 502) are ordinary JSON error responses.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field, field_validator

from smile.ai import catalog
from smile.ai.types import ChatRequest, Message
from smile.billing.credits import service as credits
from smile.hub import chat
from smile.identity.auth import DB, CurrentUser
from smile.kit import runtime
from smile.kit.errors import responses
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
        return ChatRequest(
            model=self.model,
            messages=system + [Message(t.role, t.content) for t in self.messages],
            max_tokens=self.max_tokens,
            stream=True,
        )


@router.get("/hub/playground", response_class=HTMLResponse)
async def playground_page(request: Request, me: CurrentUser, db: DB, model: str = "") -> HTMLResponse:
    settings = runtime.current().settings
    models = await catalog.models(db, settings, enabled_only=True)
    ids = [m.id for m in models]
    chosen = model if model in ids else settings.ai_default_model if settings.ai_default_model in ids else ids[0]
    wallet = await credits.wallet_balance(db, me.id)
    return render(request, "hub/playground.html", {"models": models, "chosen": chosen, "wallet": wallet})


@router.post("/hub/playground/chat", responses=responses(401, 403, 404, 422, 429))
async def playground_chat(body: PlaygroundChat, me: CurrentUser, db: DB) -> StreamingResponse:
    """Stream one reply for the signed-in user; refusals come before the first byte as plain errors."""
    return StreamingResponse(
        await chat.playground(db, me.id, body.request()), media_type="text/event-stream", headers=SSE_HEADERS
    )
