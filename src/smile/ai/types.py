"""Provider-neutral request and response types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass
class Message:
    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None  # for role "tool": the call this answers
    name: str | None = None


@dataclass
class ChatRequest:
    model: str  # a catalog alias
    messages: list[Message]
    max_tokens: int | None = None
    temperature: float | None = None
    tools: list[dict[str, Any]] | None = None  # OpenAI "function" tool shape
    tool_choice: str | dict[str, Any] | None = None
    stream: bool = False
    knowledge: list[str] | None = None  # passages the offline provider may ground replies in


@dataclass
class Usage:
    input_tokens: int = 0  # all prompt tokens, cached ones included
    output_tokens: int = 0
    cached_tokens: int = 0  # the part of input_tokens served from a prompt cache

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
        )


@dataclass
class ToolCallDelta:
    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass
class Delta:
    """One piece of a streamed reply. The last one carries finish_reason and usage."""

    text: str = ""
    tool_calls: list[ToolCallDelta] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    # set by the service on the final delta it yields
    request_id: str | None = None
    model: str | None = None
    credits: int | None = None

    @property
    def has_content(self) -> bool:
        return bool(self.text or self.tool_calls)


@dataclass
class ChatResult:
    text: str
    tool_calls: list[ToolCall]
    finish_reason: str
    usage: Usage
    model: str = ""  # the alias that answered
    provider: str = ""
    request_id: str = ""
    credits: int = 0
    offline: bool = False


class ProviderError(Exception):
    """An upstream failure. retryable: worth retrying (429, 5xx, timeouts, connection errors)."""

    def __init__(
        self, message: str, *, status: int | None = None, retryable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after

    @property
    def is_client_error(self) -> bool:
        """The request itself is bad: another provider would refuse it too."""
        return self.status in (400, 413, 422)


def retryable_status(status: int | None) -> bool:
    return status is not None and (status in (408, 409, 429) or status >= 500)
