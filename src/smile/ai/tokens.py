"""Local token counting, for providers that report no usage and for reservations.

A word or a punctuation mark counts as one token. Reservations use `upper_bound`, which also
counts one token per three UTF-8 bytes when that is more (real tokenizers rarely go below that).
"""

from __future__ import annotations

import json
import math
import re

from smile.ai.types import Message

_TOKEN = re.compile(r"\w+|[^\w\s]")
_PIECE = re.compile(r"\s*(?:\w+|[^\w\s])")
MESSAGE_OVERHEAD = 4  # role and separators per message
REPLY_OVERHEAD = 2


def count(text: str) -> int:
    return len(_TOKEN.findall(text or ""))


def pieces(text: str) -> list[str]:
    """The text split into token-sized pieces (leading whitespace kept), so ''.join(pieces) == text.lstrip()."""
    return _PIECE.findall(text or "")


def _message_text(message: Message) -> str:
    parts = [message.content or ""]
    for call in message.tool_calls:
        parts += [call.name, call.arguments]
    return " ".join(parts)


def count_messages(messages: list[Message], tools: list[dict] | None = None) -> int:
    total = REPLY_OVERHEAD + sum(count(_message_text(m)) + MESSAGE_OVERHEAD for m in messages)
    if tools:
        total += count(json.dumps(tools))
    return total


def upper_bound(messages: list[Message], tools: list[dict] | None = None) -> int:
    """A generous prompt estimate for reserving credits before a call."""
    texts = [_message_text(m) for m in messages] + ([json.dumps(tools)] if tools else [])
    by_bytes = sum(math.ceil(len(t.encode()) / 3) for t in texts)
    return max(count_messages(messages, tools), by_bytes + REPLY_OVERHEAD + MESSAGE_OVERHEAD * len(messages))
