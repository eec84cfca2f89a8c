"""`smile doctor`: check configuration, database, extensions, migrations, jobs and outbound services.

Each check prints one row (✓ pass, ! warning, ✗ problem, – skipped) with how to fix it.
The exit code is 1 when any check fails; warnings do not fail.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
SYMBOLS = {OK: ("✓", "green"), WARN: ("!", "yellow"), FAIL: ("✗", "bold red"), SKIP: ("–", "dim")}
MIN_POSTGRES = 15
EXTENSIONS = ("vector", "pg_trgm")
TIMEOUT = 5


@dataclass
class Result:
    name: str
    state: str
    detail: str
    fix: str = ""


def config_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """(variable, message) for each configuration error, naming the SMILE_* variable."""
    found = []
    for err in exc.errors():
        message = str(err.get("msg", "")).removeprefix("Value error, ")
        loc = err.get("loc") or ()
        named = re.search(r"SMILE_[A-Z_]+", message)
        name = f"SMILE_{str(loc[0]).upper()}" if loc else named.group(0) if named else "configuration"
        found.append((name, message))
    return found


def _ms(start: float) -> str:
    return f"{(time.perf_counter() - start) * 1000:.0f} ms"


def check_data_dir(settings) -> Result:
    path = settings.data_dir.resolve()
    fix = f"Create {path} and let the user running smile write to it, or point SMILE_DATA_DIR elsewhere."
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError as exc:
        return Result("data directory", FAIL, f"{path} is not writable: {exc.strerror or exc}", fix)
    free = shutil.disk_usage(path).free
    if free < 1 << 30:
        return Result(
            "data directory",
            WARN,
            f"{path} is writable but only {free >> 20} MB are free",
            "Free some disk space: the embedded database and media live here.",
        )
    return Result("data directory", OK, f"{path} is writable ({free >> 30} GB free)")


def check_secret(settings) -> Result:
    stored = settings.data_dir / "secret_key"
    generated = (
        "SMILE_SECRET_KEY" not in os.environ and stored.exists() and stored.read_text().strip() == settings.secret_key
    )
    if generated:
        return Result("secret key", OK, f"generated for development and kept in {stored.resolve()}")
    return Result("secret key", OK, f"set by SMILE_SECRET_KEY ({len(settings.secret_key)} characters)")


def check_production(settings) -> Result:
    if settings.is_dev:
        return Result("production settings", SKIP, "development mode (SMILE_ENV=dev)")
    problems, fixes = [], []
    host = urlparse(settings.base_url).hostname or ""
    if settings.base_url.startswith("http://"):
        problems.append(f"SMILE_BASE_URL is {settings.base_url}: cookies are not marked Secure")
        fixes.append("serve over HTTPS and set SMILE_BASE_URL=https://your.domain")
    if host in ("127.0.0.1", "localhost", "::1"):
        problems.append("SMILE_BASE_URL points at this machine, so links in emails will not work")
        fixes.append("set SMILE_BASE_URL to the public address")
    if not settings.smtp_url:
        problems.append("SMILE_SMTP_URL is not set: emails are only stored in the database, nobody gets them")
        fixes.append("set SMILE_SMTP_URL=smtp://user:pass@host:587?starttls=1")
    if not settings.rate_limit_enabled:
        problems.append("rate limits are off (SMILE_RATE_LIMIT_ENABLED=0)")
        fixes.append("turn rate limits back on")
    if problems:
        advice = "; ".join(fixes)
        return Result("production settings", WARN, "; ".join(problems), advice[0].upper() + advice[1:] + ".")
    return Result("production settings", OK, "HTTPS base URL, SMTP and rate limits configured")


def _describe(url: str, embedded: bool) -> str:
    """Where the database is, without credentials."""
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if embedded:
        return f"embedded PostgreSQL, database {name}"
    if not parsed.hostname:
        return f"local socket, database {name}"
    return f"{parsed.hostname}:{parsed.port or 5432}/{name}"


def connect(settings) -> tuple[Result, str | None]:
    """Resolve (and for embedded mode, start) the database and open a connection to it."""
    import psycopg

    from smile.kit import embedded, runtime
    from smile.kit.db import libpq_url

    try:
        url = runtime.resolve_database_url(settings)
    except embedded.EmbeddedError as exc:
        return Result(
            "database",
            FAIL,
            str(exc).splitlines()[0],
            "Check that SMILE_DATA_DIR is writable and not used by another program, "
            "or set SMILE_DATABASE_URL to an external PostgreSQL.",
        ), None
    start = time.perf_counter()
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=TIMEOUT) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()).removeprefix("connection failed: ") or type(exc).__name__
        return Result(
            "database",
            FAIL,
            f"cannot connect to {_describe(url, not settings.database_url)}: {reason}",
            "Check SMILE_DATABASE_URL (host, port, user, password, database name) and that the "
            "server is running and accepts connections from this machine.",
        ), None
    return Result("database", OK, f"connected to {_describe(url, not settings.database_url)} in {_ms(start)}"), url


def check_server(url: str) -> Iterator[Result]:
    import psycopg

    from smile.kit.db import libpq_url

    with psycopg.connect(libpq_url(url), connect_timeout=TIMEOUT) as conn:
        number = int(conn.execute("SHOW server_version_num").fetchone()[0])
        version = conn.execute("SHOW server_version").fetchone()[0]
        if number // 10000 >= MIN_POSTGRES:
            yield Result("PostgreSQL version", OK, version)
        else:
            yield Result(
                "PostgreSQL version",
                FAIL,
                f"{version} is older than {MIN_POSTGRES}",
                f"Upgrade to PostgreSQL {MIN_POSTGRES} or newer (18 recommended).",
            )
        rows = conn.execute(
            "SELECT name, installed_version FROM pg_available_extensions WHERE name = ANY(%s)", (list(EXTENSIONS),)
        ).fetchall()
        available = dict(rows)
        for name in EXTENSIONS:
            if available.get(name):
                yield Result(f"extension {name}", OK, f"installed (version {available[name]})")
            elif name in available:
                yield Result(f"extension {name}", OK, "available; `smile migrate` installs it")
            else:
                package = (
                    "pgvector (e.g. apt install postgresql-18-pgvector)"
                    if name == "vector"
                    else "the contrib package (e.g. apt install postgresql-contrib)"
                )
                yield Result(
                    f"extension {name}",
                    FAIL,
                    "not available on this server",
                    f"Install {package} on the database server.",
                )


def check_jobs(url: str) -> Result:
    import psycopg

    from smile.kit.db import libpq_url

    with psycopg.connect(libpq_url(url), connect_timeout=TIMEOUT) as conn:
        return _job_counts(conn)


def _job_counts(conn) -> Result:
    if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is None:
        return Result("job queue", FAIL, "the procrastinate schema is missing", "Run `smile migrate`.")
    counts = dict(
        conn.execute(
            "SELECT status::text, count(*) FROM procrastinate_jobs "
            "WHERE status IN ('todo', 'doing', 'failed') GROUP BY status"
        ).fetchall()
    )
    stale = conn.execute(
        "SELECT count(*) FROM procrastinate_jobs j WHERE j.status = 'todo' AND coalesce("
        "j.scheduled_at, (SELECT min(e.at) FROM procrastinate_events e WHERE e.job_id = j.id)) "
        "< now() - interval '5 minutes'"
    ).fetchone()[0]
    workers = conn.execute(
        "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '1 minute'"
    ).fetchone()[0]
    detail = (
        f"{counts.get('todo', 0)} waiting, {counts.get('doing', 0)} running, "
        f"{counts.get('failed', 0)} failed; {workers} worker(s) alive"
    )
    if stale and not workers:
        return Result(
            "job queue",
            WARN,
            detail + "; jobs have waited over 5 minutes",
            "Start a worker: `smile serve` runs one in-process, or run `smile worker`.",
        )
    if counts.get("failed"):
        return Result(
            "job queue",
            WARN,
            detail,
            "See them with `SELECT id, task_name, args FROM procrastinate_jobs WHERE status = "
            "'failed'`; fix the cause (often SMTP) and defer them again.",
        )
    return Result("job queue", OK, detail)


def check_migrations(url: str) -> Result:
    from smile.kit import migrate

    known = {row["revision"] for row in migrate.history(url)}
    applied = migrate.applied(url)
    unknown = [rev for rev in applied if rev not in known]
    if unknown:
        return Result(
            "migrations",
            FAIL,
            f"the database is at {', '.join(unknown)}, which this smile does not know",
            "Run the smile version that migrated this database, or a newer one.",
        )
    if todo := migrate.pending(url):
        return Result("migrations", FAIL, f"{len(todo)} pending: {', '.join(todo)}", "Run `smile migrate`.")
    return Result("migrations", OK, f"current ({', '.join(applied)})")


def check_redis(settings) -> Result:
    if not settings.redis_url:
        return Result("Redis", SKIP, "not configured (SMILE_REDIS_URL): rate limits and fan-out stay in-process")
    import redis

    start = time.perf_counter()
    try:
        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
        with client:
            client.ping()
    except redis.RedisError as exc:
        return Result(
            "Redis",
            FAIL,
            f"cannot reach SMILE_REDIS_URL: {exc}",
            "Check SMILE_REDIS_URL and that Redis is running, or unset it to run without Redis.",
        )
    return Result("Redis", OK, f"PING answered in {_ms(start)}")


async def _smtp_hello(options: dict) -> str:
    import aiosmtplib

    client = aiosmtplib.SMTP(**options, timeout=TIMEOUT)
    await client.connect()
    try:
        response = await client.ehlo()
        return response.message.splitlines()[0] if response.message else ""
    finally:
        await client.quit()


def check_smtp(settings) -> Result:
    if not settings.smtp_url:
        return Result("SMTP", SKIP, "not configured (SMILE_SMTP_URL): emails are captured to the database")
    import aiosmtplib

    options = settings.smtp
    where = f"{options['hostname']}:{options['port']}"
    start = time.perf_counter()
    try:
        greeting = asyncio.run(_smtp_hello(options))
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
        return Result(
            "SMTP",
            FAIL,
            f"SMILE_SMTP_URL {where}: {exc or type(exc).__name__}",
            "Check SMILE_SMTP_URL: host, port, user and password, smtps:// for port 465 or "
            "?starttls=1 for 587, and that this machine may connect to it.",
        )
    login = ", logged in" if options.get("username") else ""
    return Result("SMTP", OK, f"{where} answered EHLO{login} in {_ms(start)} ({greeting})")


def check_embeddings(settings) -> Result:
    from smile.ai import embeddings, moderation

    usable, detail = embeddings.describe(settings)
    if not usable:
        return Result("embeddings", WARN, detail, "Optional: install the extra, or set SMILE_EMBEDDINGS_URL.")
    state = "on" if moderation.enabled(settings) and moderation.available() else "off"
    return Result("embeddings", OK, f"{detail}; moderation classifier {state}")


def checks() -> Iterator[Result]:
    """Every check, in order; later ones are skipped when what they need is missing."""
    from smile.config import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        for name, message in config_errors(exc):
            yield Result(
                "configuration",
                FAIL,
                f"{name}: {message}",
                f"Fix {name} in the environment or in .env, then run `smile doctor` again.",
            )
        return
    except OSError as exc:  # the dev secret key could not be stored under the data dir
        yield Result("configuration", FAIL, f"SMILE_DATA_DIR: {exc}", "Make SMILE_DATA_DIR writable.")
        return
    yield Result("configuration", OK, f"SMILE_ENV={settings.env}, modules: {settings.modules}")
    yield check_data_dir(settings)
    yield check_secret(settings)
    yield check_production(settings)
    result, url = connect(settings)
    yield result
    if url is None:
        for name in ("PostgreSQL version", "extensions", "migrations", "job queue"):
            yield Result(name, SKIP, "skipped: no database connection")
    else:
        try:
            yield from check_server(url)
            yield check_migrations(url)
            yield check_jobs(url)
        except Exception as exc:  # noqa: BLE001 - report anything the database says plainly
            yield Result(
                "database checks",
                FAIL,
                f"{type(exc).__name__}: {exc}",
                "Check that the database user may read the catalog and the smile tables.",
            )
    yield check_redis(settings)
    yield check_smtp(settings)
    yield check_embeddings(settings)


def run_checks(console: Console) -> int:
    """Print every check as a table row; 0 when nothing failed, 1 otherwise."""
    table = Table(title="smile doctor", show_lines=False, expand=False)
    table.add_column("", width=1)
    table.add_column("Check", style="bold", no_wrap=True)
    table.add_column("Result")
    failed = warned = 0
    for result in checks():
        symbol, style = SYMBOLS[result.state]
        cell = Text(result.detail)
        if result.fix:
            cell.append("\nHow to fix: ", style="yellow").append(result.fix)
        table.add_row(Text(symbol, style=style), result.name, cell)
        failed += result.state == FAIL
        warned += result.state == WARN
    console.print(table)
    if failed:
        console.print(f"[bold red]✗ {failed} problem(s) found[/]" + (f", {warned} warning(s)." if warned else "."))
        return 1
    console.print("[green]✓ All checks passed[/]" + (f" ({warned} warning(s))." if warned else "."))
    return 0
