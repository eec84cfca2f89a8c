"""hub: API keys, rate limits, the OpenAI-compatible gateway, the playground, usage dashboards and MCP."""

NEEDS = ("identity", "billing", "ai")  # ai: the gateway calls ai.service; its ai.sweep_pending job
