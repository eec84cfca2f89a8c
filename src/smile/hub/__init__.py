"""hub: API keys, rate limits, and (later) the OpenAI-compatible gateway, dashboards and MCP."""
