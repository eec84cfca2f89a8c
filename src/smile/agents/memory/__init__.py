"""agents.memory: the rolling conversation summary and long-term facts about each person (issue 12, item 4)."""
