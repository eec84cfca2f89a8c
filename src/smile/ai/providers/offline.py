"""The offline provider: deterministic replies grounded in the conversation and any knowledge passed.

No network. Replies start with "[offline]" so nobody mistakes them for a real model; token counts
are computed locally, the same way streamed and not.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from smile.ai import tokens
from smile.ai.providers.base import Provider
from smile.ai.types import ChatRequest, ChatResult, Delta, Usage

MARK = "[offline]"
DEFAULT_MAX = 256
_WORD = re.compile(r"\w{3,}")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _sentences(passage: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", passage) if s.strip()]


def compose(request: ChatRequest) -> str:
    """The reply: the knowledge sentences that best match the last user message, else a grounded echo."""
    question = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
    asked = _words(question)
    scored = []
    for passage in request.knowledge or []:
        for sentence in _sentences(passage):
            overlap = len(asked & _words(sentence))
            if overlap:
                scored.append((-overlap, len(scored), sentence))
    if scored:
        best = [s for _, _, s in sorted(scored)[:2]]
        return f"{MARK} From what I know: " + " ".join(best)
    system = next((m.content for m in request.messages if m.role == "system"), "")
    about = f" (instructions: {system[:120]})" if system else ""
    if not question:
        return f"{MARK} No model is configured; I can only answer from the conversation{about}."
    return f'{MARK} No model is configured, so this is a local reply{about}. You said: "{question[:400]}"'


def _reply(request: ChatRequest) -> tuple[list[str], str, Usage]:
    limit = request.max_tokens or DEFAULT_MAX
    parts = tokens.pieces(compose(request))
    finish = "length" if len(parts) > limit else "stop"
    parts = parts[:limit]
    usage = Usage(input_tokens=tokens.count_messages(request.messages, request.tools), output_tokens=len(parts))
    return parts, finish, usage


class OfflineProvider(Provider):
    kind = "offline"
    offline = True

    async def chat(self, request: ChatRequest, upstream_model: str) -> ChatResult:
        parts, finish, usage = _reply(request)
        return ChatResult(text="".join(parts), tool_calls=[], finish_reason=finish, usage=usage, offline=True)

    async def stream(self, request: ChatRequest, upstream_model: str) -> AsyncIterator[Delta]:
        parts, finish, usage = _reply(request)
        for i in range(0, len(parts), 4):
            yield Delta(text="".join(parts[i : i + 4]))
        yield Delta(finish_reason=finish, usage=usage)
