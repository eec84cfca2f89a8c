"""Process-wide resources: settings, database, rate limiter, storage.

Created once per process by the app factory or the CLI; job handlers use `current()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from smile.config import Settings
from smile.kit import embedded, jobs
from smile.kit import storage as storage_mod
from smile.kit.db import Database
from smile.kit.ratelimit import RateLimiter
from smile.kit.storage import LocalStorage, S3Storage


@dataclass
class Runtime:
    settings: Settings
    database_url: str
    db: Database
    limiter: RateLimiter
    storage: LocalStorage | S3Storage
    restarter: embedded.Restarter | None = None  # set when the database is this data dir's embedded server


_current: Runtime | None = None


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return embedded.start(settings.data_dir)


def start(settings: Settings, database_url: str | None = None, pool_size: int = 20) -> Runtime:
    global _current
    url = database_url or resolve_database_url(settings)
    restarter = embedded.Restarter(settings.data_dir) if embedded.serves(url, settings.data_dir) else None
    _current = Runtime(
        settings=settings,
        database_url=url,
        db=Database(url, pool_size=pool_size, on_lost=restarter and restarter.trigger),
        limiter=RateLimiter(settings.redis_url, enabled=settings.rate_limit_enabled),
        storage=storage_mod.from_settings(settings),
        restarter=restarter,
    )
    jobs.configure(url)
    return _current


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("smile runtime not started")
    return _current
