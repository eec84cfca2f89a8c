"""identity: accounts, auth, sessions, MFA, OAuth, profile, privacy, GDPR."""

NEEDS: tuple[str, ...] = ()  # the modules this one needs enabled (smile.config checks SMILE_MODULES)
