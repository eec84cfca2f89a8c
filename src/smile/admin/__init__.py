"""admin: user management, the audit log, and (with social) the moderation queue."""

NEEDS = ("identity",)  # the modules this one needs enabled; its moderation queue comes with social
