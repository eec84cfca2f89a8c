"""agents.knowledge: documents an agent's owner uploads, chunked, embedded and retrieved (issue 12, item 3)."""
