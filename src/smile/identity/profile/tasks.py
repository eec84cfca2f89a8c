"""Background jobs for profiles and GDPR (filled in by the profile work)."""
