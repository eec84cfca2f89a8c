"""`smile serve` on its embedded PostgreSQL, as a real subprocess: the signals that stop it stop the
database too, and the server rides out the database being killed under it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import free_port
from tests.test_embedded import _alive, _stops, short_dir  # noqa: F401 - short_dir is a fixture


class EmbeddedServe:
    """`python -m smile.cli serve` with no SMILE_DATABASE_URL: it starts the embedded server under data_dir."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("SMILE_")}
        clean.update(SMILE_DATA_DIR=str(data_dir), SMILE_SECRET_KEY="e" * 48, SMILE_RATE_LIMIT_ENABLED="0",
                     SMILE_BASE_URL=self.url, **env)
        self.log_path = data_dir / f"serve-{self.port}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "smile.cli", "serve", "--port", str(self.port)],
                                     env=clean, cwd=data_dir, stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log_path.read_text()[-4000:]

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"smile serve exited with {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"smile serve did not become ready: {self.output()}")

    def postmaster(self) -> int:
        return int((self.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


@pytest.fixture
def serve(short_dir):  # noqa: F811 - the imported fixture
    started: list[EmbeddedServe] = []

    def start(**env: str) -> EmbeddedServe:
        started.append(EmbeddedServe(short_dir, **env))
        started[-1].wait_ready()
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_stops_the_embedded_postgres(serve, sig):
    """systemd, Docker and Kubernetes send SIGTERM, a terminal sends SIGINT: either way the last user of the
    embedded server stops it (a postmaster left running holds the data dir and its port/socket)."""
    server = serve()
    postmaster = server.postmaster()
    assert _alive(postmaster)
    server.proc.send_signal(sig)
    assert server.proc.wait(30) == 0, server.output()
    assert _stops(postmaster, timeout=15), f"postmaster {postmaster} still running after {sig.name}"
    assert not (server.data_dir / "postgres" / "postmaster.pid").exists()
