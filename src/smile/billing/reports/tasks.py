"""reports: background jobs (and, by importing the service, its payment hooks)."""
