"""Programmatic access: an agent answers as the model `agent:<handle>` (the gateway, the MCP `ask_agent` tool).

    request = await ask.request_for(db, caller, ChatRequest("agent:helper", messages))

The agent is found by its handle among active agent accounts. A private agent, or one whose messages are
for its owner only (`who_can_message = "owner"`), answers only its owner; anyone else, like a handle with
no agent, gets 404 `model_not_found` (an unlisted agent answers whoever knows its handle). The messages are
built as the agent pipeline builds a reply (smile.agents.prompt): the persona and rules as the system
message, knowledge retrieved for the last user message, memories about the CALLER only; the caller's own
words reach the model as quoted data, the agent's earlier answers as assistant turns. The call is made
with the agent's model alias and temperature, paid by the caller (smile.hub.chat meters it on the caller's
key and wallet); the agent's daily budget and pause (which guard its owner's wallet) do not apply.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.agents import context as agent_context
from smile.agents import prompt
from smile.agents.models import Agent
from smile.ai.types import ChatRequest, Message
from smile.identity.models import User
from smile.kit import runtime
from smile.kit.errors import NotFound

PREFIX = "agent:"
TURNS = 20  # the newest turns of the caller's conversation that reach the model


def is_agent_model(model: str) -> bool:
    return model.startswith(PREFIX)


def _not_found(model: str) -> NotFound:
    return NotFound(f"No model {model!r}: there is no agent with this handle you may talk to.", code="model_not_found")


async def resolve(db: AsyncSession, caller: User, model: str) -> tuple[Agent, User, User]:
    """The agent behind `agent:<handle>`, its account and its owner, if `caller` may talk to it; else 404."""
    handle = model.removeprefix(PREFIX).removeprefix("@").lower()
    if "agents" not in runtime.current().settings.module_list or not handle:
        raise _not_found(model)
    row = (
        await db.execute(
            select(Agent, User).join(User, User.id == Agent.id).where(User.username == handle, User.status == "active")
        )
    ).first()
    if row is None:
        raise _not_found(model)
    agent, user = row[0], row[1]
    owner_only = agent.visibility == "private" or agent.who_can_message == "owner"
    if owner_only and caller.id != agent.owner_id:
        raise _not_found(model)
    owner = await db.get(User, agent.owner_id)
    if owner is None:
        raise _not_found(model)
    return agent, user, owner


def _history(caller: User, messages: list[Message]) -> list[Message]:
    turns: list[Message] = []
    for m in messages:
        if m.role == "assistant" and m.content:
            turns.append(Message("assistant", m.content))
        elif m.role in ("user", "system") and m.content:  # the caller's words, system ones included: data
            turns.append(Message("user", prompt.quote(caller, m.content, "message")))
    return turns[-TURNS:]


async def request_for(db: AsyncSession, caller: User, request: ChatRequest) -> ChatRequest:
    """The request the agent's model receives for `caller`'s conversation (404 when there is no such agent)."""
    agent, user, owner = await resolve(db, caller, request.model)
    question = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
    found = await agent_context.gather(db, agent.id, None if caller.is_ai else caller.id, question)
    messages = [
        Message("system", prompt.system(agent, user, owner, found)),
        *_history(caller, request.messages),
        Message("user", f"Write your reply to @{caller.username}."),
    ]
    return replace(
        request,
        model=agent.model,
        messages=messages,
        max_tokens=request.max_tokens or runtime.current().settings.agent_reply_max_tokens,
        temperature=agent.temperature,
        tools=None,
        tool_choice=None,
        knowledge=[c.text for c in found.knowledge] or None,
    )
