"""AI core: providers (OpenAI-compatible, Anthropic, offline), model catalog, routing, metering, usage."""

NEEDS = ("identity", "billing")  # billing: every AI call is metered from the credits wallet
