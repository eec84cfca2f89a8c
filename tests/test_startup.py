"""Starting the real `smile serve` process: refusal on pending migrations in prod."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from smile.kit import migrate
from smile.kit.db import libpq_url
from tests.support import with_database


@pytest.fixture
def empty_database(database_url):
    url = libpq_url(database_url)
    name = url.partition("?")[0].rsplit("/", 1)[1] + "_empty"
    admin_url = with_database(url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield with_database(url, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_prod_refuses_to_serve_with_pending_migrations(empty_database, tmp_path):
    env = {
        **os.environ,
        "SMILE_ENV": "prod",
        "SMILE_SECRET_KEY": "p" * 48,
        "SMILE_DATABASE_URL": empty_database,
        "SMILE_DATA_DIR": str(tmp_path),
        "SMILE_BASE_URL": "https://smile.example",
    }
    result = subprocess.run(
        [sys.executable, "-m", "smile.cli", "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    output = " ".join((result.stdout + result.stderr).split())  # the console wraps long lines
    revisions = migrate.pending(empty_database)  # every revision, oldest first, on an empty database
    assert revisions[:2] == ["0001", "0002"]
    assert f"Pending migrations: {', '.join(revisions)}" in output
    assert "smile migrate" in output
    # and `smile migrate` then brings it to head
    result = subprocess.run(
        [sys.executable, "-m", "smile.cli", "migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == migrate.heads(empty_database)[0]
        extensions = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
    assert {"vector", "pg_trgm"} <= extensions
