"""Alembic, driven from code: upgrade, and what is applied or pending."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from smile.kit.db import sqlalchemy_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(slug)s")
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def heads(url: str) -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def applied(url: str) -> list[str]:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool, hide_parameters=True)
    try:
        with engine.connect() as conn:
            return list(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def pending(url: str) -> list[str]:
    """Revisions between the database's current state and head, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(url))
    current = set(applied(url))
    todo = []
    for rev in script.walk_revisions():
        if rev.revision in current:
            break
        todo.append(rev.revision)
    return list(reversed(todo)) if current or todo else []


def history(url: str) -> list[dict]:
    script = ScriptDirectory.from_config(alembic_config(url))
    current = set(applied(url))
    rows = []
    reached = False
    for rev in script.walk_revisions():  # newest first
        if rev.revision in current:
            reached = True
        rows.append({"revision": rev.revision, "message": rev.doc, "applied": reached})
    return list(reversed(rows))
