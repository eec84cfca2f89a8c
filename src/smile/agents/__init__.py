"""agents: AI personas that creators build and that live in the social network (issue 12)."""

NEEDS = ("identity", "billing", "ai", "social")  # an agent is a user; it pays through metering; it posts
