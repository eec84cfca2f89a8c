"""The real `smile` command line, run as a subprocess against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest
from aiosmtpd.controller import Controller

from smile.kit import migrate
from tests.support import STRONG_PASSWORD, free_port

ADMIN_USERS = "/api/v1/admin/users"


@pytest.fixture
def smile(tmp_path, dsn):
    """Run `smile ARGS` with the test database and a scratch data dir; returns (exit code, output)."""

    def run(*args: str, **env: str) -> tuple[int, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("SMILE_")}
        clean.update(
            COLUMNS="500",
            PYTHONIOENCODING="utf-8",
            NO_COLOR="1",
            SMILE_DATA_DIR=str(tmp_path / "var"),
            SMILE_DATABASE_URL=dsn,
        )
        if redis_url := os.environ.get("SMILE_TEST_REDIS_URL"):
            clean["SMILE_REDIS_URL"] = redis_url
        clean.update(env)
        proc = subprocess.run(
            [sys.executable, "-m", "smile.cli", *args],
            env=clean,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return proc.returncode, proc.stdout + proc.stderr

    return run


def _row(output: str, check: str) -> str:
    """The table line of one doctor check, e.g. "✓ │ migrations │ current (0001)"."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 3 and cells[1] == check:
            return " │ ".join(cells)
    raise AssertionError(f"no {check!r} row in:\n{output}")


def test_doctor_passes_on_a_migrated_database(smile, database_url):
    code, out = smile("doctor")
    assert code == 0, out
    assert "All checks passed" in out
    for check in (
        "configuration",
        "data directory",
        "database",
        "PostgreSQL version",
        "extension vector",
        "extension pg_trgm",
        "migrations",
        "job queue",
    ):
        assert _row(out, check).startswith("✓"), out
    head = migrate.heads(database_url)[0]
    assert f"current ({head}" in _row(out, "migrations")
    assert "generated for development" in _row(out, "secret key")
    assert "not configured" in _row(out, "SMTP")


def test_doctor_fails_on_an_unreachable_database(smile):
    port = free_port()
    code, out = smile("doctor", SMILE_DATABASE_URL=f"postgresql://smile:pw@127.0.0.1:{port}/smile")
    assert code == 1
    row = _row(out, "database")
    assert row.startswith("✗") and f"cannot connect to 127.0.0.1:{port}/smile" in row
    assert "How to fix: Check SMILE_DATABASE_URL" in out
    assert _row(out, "migrations") == "– │ migrations │ skipped: no database connection"
    assert "problem(s) found" in out and "pw" not in row  # the password is never printed


def test_doctor_names_the_invalid_setting(smile):
    code, out = smile("doctor", SMILE_ENV="prod")
    assert code == 1 and _row(out, "configuration").startswith("✗")
    assert "SMILE_SECRET_KEY: SMILE_SECRET_KEY is required when SMILE_ENV=prod" in out

    code, out = smile("doctor", SMILE_SMTP_URL="garbage")
    assert code == 1
    assert "SMILE_SMTP_URL: must look like smtp://" in out
    assert "How to fix: Fix SMILE_SMTP_URL" in out


def test_doctor_warns_about_development_settings_in_production(smile):
    code, out = smile("doctor", SMILE_ENV="prod", SMILE_SECRET_KEY="s" * 40)
    assert code == 0, out  # warnings do not fail
    assert _row(out, "production settings").startswith("!")
    assert "SMILE_BASE_URL is http://127.0.0.1:8000" in out and "SMILE_SMTP_URL is not set" in out
    assert "set by SMILE_SECRET_KEY" in _row(out, "secret key")


def test_doctor_connects_to_smtp(smile):
    port = free_port()
    controller = Controller(object(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        code, out = smile("doctor", SMILE_SMTP_URL=f"smtp://127.0.0.1:{port}")
    finally:
        controller.stop()
    assert code == 0, out
    assert f"127.0.0.1:{port} answered EHLO" in _row(out, "SMTP")

    closed = free_port()
    code, out = smile("doctor", SMILE_SMTP_URL=f"smtp://127.0.0.1:{closed}")
    assert code == 1
    assert _row(out, "SMTP").startswith("✗") and f"SMILE_SMTP_URL 127.0.0.1:{closed}" in out


def test_migrate_is_a_no_op_on_a_current_database(smile, db):
    before = db.execute("SELECT version_num FROM alembic_version").fetchall()
    code, out = smile("migrate")
    assert code == 0, out
    assert "Nothing to do: the database is current" in out
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == before


def test_create_admin_user_who_can_log_in(smile, db, client):
    code, out = smile(
        "admin",
        "create-user",
        "--email",
        "Boss@Example.com",
        "--username",
        "Head_Admin",
        "--password",
        STRONG_PASSWORD,
        "--role",
        "admin",
        "--role",
        "creator",
    )
    assert code == 0, out
    assert "Created head_admin (user, creator, admin)" in out and "two-factor" in out
    roles, verified, email = db.execute(
        "SELECT roles, email_verified_at IS NOT NULL, email FROM users WHERE username = 'head_admin'"
    ).fetchone()
    assert roles == ["user", "creator", "admin"] and verified and email == "Boss@example.com"

    r = client.post("/api/v1/auth/login", json={"login": "head_admin", "password": STRONG_PASSWORD})
    assert r.status_code == 200, r.text
    client.access = r.json()["access_token"]
    assert r.json()["user"]["roles"] == ["user", "creator", "admin"]
    assert client.get(ADMIN_USERS).json()["error"] == "mfa_enrolment_required"  # an admin, not yet enrolled

    code, out = smile(
        "admin", "create-user", "--email", "boss@example.com", "--username", "other", "--password", STRONG_PASSWORD
    )
    assert code == 1 and "already exists" in out


def test_create_user_explains_what_is_wrong(smile, db):
    code, out = smile(
        "admin", "create-user", "--email", "weak@example.com", "--username", "weakling", "--password", "short"
    )
    assert code == 1
    assert "Password must have at least 10 characters" in out
    assert "both lowercase and uppercase letters" in out and "at least one digit" in out

    code, out = smile(
        "admin",
        "create-user",
        "--email",
        "w@example.com",
        "--username",
        "wizard1",
        "--password",
        STRONG_PASSWORD,
        "--role",
        "wizard",
    )
    assert code == 1 and "Unknown role(s) wizard; choose from user, creator, mentor, admin" in out

    code, out = smile(
        "admin", "create-user", "--email", "not-an-email", "--username", "person1", "--password", STRONG_PASSWORD
    )
    assert code == 1 and "Email:" in out

    code, out = smile(
        "admin", "create-user", "--email", "a@example.com", "--username", "No Spaces", "--password", STRONG_PASSWORD
    )
    assert code == 1 and "Username: Usernames are 3–30 characters" in out
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_seed_creates_demo_people_once(smile, dsn):
    code, out = smile("seed", "--users", "5")
    assert code == 0, out
    assert "Created 6 demo account(s)" in out  # five people and the demo admin
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT username, roles, bio <> '' FROM users WHERE account_type = 'person' ORDER BY username"
        ).fetchall()
    assert [r[0] for r in rows] == ["demo000", "demo001", "demo002", "demo003", "demo004", "demoadmin"]
    assert ["user", "admin"] in [r[1] for r in rows] and ["user", "creator"] in [r[1] for r in rows]
    assert any(r[2] for r in rows)  # demo people have bios

    code, out = smile("seed", "--users", "5")
    assert code == 0 and "Created 0 demo account(s)" in out
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM users WHERE account_type = 'person'").fetchone()[0] == 6
        assert conn.execute("SELECT count(*) FROM users WHERE account_type = 'ai_agent'").fetchone()[0] == 8
