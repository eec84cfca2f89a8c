"""Embedded PostgreSQL: processes on one data dir share one server, and data survives a restart."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

# A process that starts (or joins) the embedded server under argv[1], reports which server it
# got, then runs one SQL statement per stdin line and answers with the rows as JSON.
CHILD = r"""
import json, sys
from pathlib import Path
import psycopg
from smile.kit import embedded
from smile.kit.db import libpq_url

data_dir = Path(sys.argv[1])
url = embedded.start(data_dir)
pid = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
print(json.dumps({"url": url, "postmaster": pid}), flush=True)
for line in sys.stdin:
    if not line.strip():
        break
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        cur = conn.execute(line)
        print(json.dumps(cur.fetchall() if cur.description else [], default=str), flush=True)
"""


class Child:
    def __init__(self, data_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        assert line, f"embedded start failed: {self.proc.stderr.read()[-2000:]}"
        info = json.loads(line)
        self.url, self.postmaster = info["url"], info["postmaster"]

    def sql(self, statement: str) -> list:
        self.proc.stdin.write(statement.replace("\n", " ") + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"child died: {self.proc.stderr.read()[-2000:]}"
        return json.loads(line)

    def exit(self) -> int:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        return self.proc.wait(30)


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except (FileNotFoundError, IndexError):
        return False


def _stops(pid: int, timeout: float = 10) -> bool:
    """True once the process has exited (pg_ctl returns as the postmaster finishes exiting)."""
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


@pytest.fixture
def short_dir():
    """Unix socket paths are limited to ~107 bytes, so the data dir lives right under /tmp."""
    path = Path(tempfile.mkdtemp(prefix="se", dir="/tmp"))
    yield path
    pidfile = path / "postgres" / "postmaster.pid"
    if pidfile.exists():  # a failed test may leave our server running: fast shutdown
        pid = int(pidfile.read_text().split()[0])
        if _alive(pid):
            os.kill(pid, signal.SIGINT)
    shutil.rmtree(path, ignore_errors=True)


def test_two_processes_share_one_server_and_data_survives_restart(short_dir):
    first = Child(short_dir)
    assert first.url.startswith("postgresql+psycopg://postgres@/smile?host=")
    first.sql("CREATE TABLE kept (id int PRIMARY KEY, note text)")
    first.sql("INSERT INTO kept VALUES (1, 'written by process one')")
    started = first.sql("SELECT pg_postmaster_start_time()::text")

    second = Child(short_dir)  # joins the running server instead of starting another
    assert (second.url, second.postmaster) == (first.url, first.postmaster)
    assert second.sql("SELECT pg_postmaster_start_time()::text") == started
    assert second.sql("SELECT note FROM kept") == [["written by process one"]]
    second.sql("INSERT INTO kept VALUES (2, 'written by process two')")
    assert second.exit() == 0

    assert _alive(first.postmaster)  # the other process still uses it, so it keeps running
    assert first.sql("SELECT count(*) FROM kept") == [[2]]
    assert first.exit() == 0
    assert _stops(first.postmaster)  # the last user stops it
    assert not (short_dir / "postgres" / "postmaster.pid").exists()

    again = Child(short_dir)
    assert again.postmaster != first.postmaster
    assert again.sql("SELECT id, note FROM kept ORDER BY id") == [
        [1, "written by process one"],
        [2, "written by process two"],
    ]
    assert again.exit() == 0
    assert _stops(again.postmaster)
