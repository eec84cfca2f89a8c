"""AI core: providers (OpenAI-compatible, Anthropic, offline), model catalog, routing, metering, usage."""
