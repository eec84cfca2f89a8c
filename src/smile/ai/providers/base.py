"""The one interface every provider implements."""

from __future__ import annotations

from collections.abc import AsyncIterator

from smile.ai.types import ChatRequest, ChatResult, Delta, ProviderError


class Provider:
    kind = "base"
    offline = False

    def __init__(self, name: str) -> None:
        self.name = name

    async def chat(self, request: ChatRequest, upstream_model: str) -> ChatResult:
        raise NotImplementedError

    def stream(self, request: ChatRequest, upstream_model: str) -> AsyncIterator[Delta]:
        """Deltas of the reply; the last one has finish_reason and usage. Closing it cancels upstream."""
        raise NotImplementedError

    async def embed(self, texts: list[str], upstream_model: str) -> list[list[float]]:
        raise ProviderError(f"provider {self.name} does not do embeddings", status=400)

    async def moderate(self, text: str, upstream_model: str | None = None) -> dict:
        raise ProviderError(f"provider {self.name} does not do moderation", status=400)

    async def close(self) -> None:
        return None
