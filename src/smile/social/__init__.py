"""social: posts, comments, reactions, follows, timelines, messages, notifications, search, media."""

NEEDS = ("identity", "ai")  # ai: posts and messages are checked by its moderation classifier
