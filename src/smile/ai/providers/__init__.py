"""Configured providers by name: SMILE_AI_PROVIDERS plus the always-present offline provider."""

from __future__ import annotations

import asyncio

from smile.ai.providers.base import Provider
from smile.ai.providers.offline import OfflineProvider
from smile.config import Settings

__all__ = ["Provider", "registry"]

_cache: dict[tuple, tuple[asyncio.AbstractEventLoop, dict[str, Provider]]] = {}


def build(settings: Settings) -> dict[str, Provider]:
    providers: dict[str, Provider] = {"offline": OfflineProvider("offline")}
    for spec in settings.ai_provider_list():
        if spec["kind"] == "anthropic":
            from smile.ai.providers.anthropic import AnthropicProvider

            providers[spec["name"]] = AnthropicProvider(
                spec["name"], spec["base_url"], spec["api_key"], settings.ai_timeout_seconds
            )
        else:
            from smile.ai.providers.openai_compat import OpenAICompatProvider

            providers[spec["name"]] = OpenAICompatProvider(
                spec["name"], spec["base_url"], spec["api_key"], settings.ai_timeout_seconds
            )
    return providers


def registry(settings: Settings) -> dict[str, Provider]:
    """The providers for these settings, built once per event loop (SDK clients pool loop-bound connections)."""
    loop = asyncio.get_running_loop()
    key = (settings.ai_providers, settings.ai_timeout_seconds)
    found = _cache.get(key)
    if found is None or found[0] is not loop or loop.is_closed():
        found = (loop, build(settings))
        _cache[key] = found
    return found[1]
