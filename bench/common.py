"""Helpers shared by the scripts in bench/: a keep-alive HTTP load loop, a server runner, the report file.

Loopback only: every server and client here binds or connects to 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
PASSWORD = "Correct-Horse-42"
SECRET_KEY = "b" * 48  # the servers started here use this key, so a bench can mint access tokens
DEFAULT_DATA_DIR = Path("/tmp/smile-bench")  # short: PostgreSQL's unix socket paths are limited


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    cpu: float = 0.0  # server process CPU seconds

    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000

    def cpu_us(self) -> float:
        return self.cpu / len(self.latencies) * 1e6 if self.latencies else float("nan")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def _client(port: int, requests: itertools.cycle, stats: Stats, stop_at: float) -> None:
    """One keep-alive connection sending requests back to back until stop_at."""
    import asyncio

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            start = time.perf_counter()
            writer.write(next(requests))
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            await reader.readexactly(length)
            stats.latencies.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 200"):
                stats.errors += 1
    finally:
        writer.close()


async def run_round(
    port: int, request: bytes | list[bytes], seconds: float, concurrency: int, stats: Stats, pid: int
) -> None:
    """`concurrency` connections for `seconds`; a list of requests is cycled through (many users)."""
    import asyncio

    batch = [request] if isinstance(request, bytes) else request
    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(
        *(_client(port, itertools.cycle(batch[i::concurrency] or batch), stats, stop_at) for i in range(concurrency))
    )
    stats.seconds += time.perf_counter() - started
    stats.cpu += cpu_seconds(pid) - cpu_before


def request_bytes(path: str, token: str | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def server_env(port: int, data_dir: Path, log_level: str, database_url: str | None = None, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMILE_")}
    env.update(
        SMILE_DATA_DIR=str(data_dir),
        SMILE_SECRET_KEY=SECRET_KEY,
        SMILE_LOG_LEVEL=log_level,
        SMILE_BASE_URL=f"http://127.0.0.1:{port}",
    )
    url = database_url or os.environ.get("SMILE_DATABASE_URL")
    if url:
        env["SMILE_DATABASE_URL"] = url
    env.update(extra)
    return env


def start_server(
    port: int, data_dir: Path, log_level: str, database_url: str | None = None, **extra: str
) -> subprocess.Popen:
    """`smile serve --workers 1` on 127.0.0.1:port, waited for until /healthz answers."""
    env = server_env(port, data_dir, log_level, database_url, **extra)
    with open(data_dir / f"serve-{port}.log", "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "smile.cli", "serve", "--port", str(port), "--workers", "1"],
            cwd=data_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"smile serve exited:\n{(data_dir / f'serve-{port}.log').read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    sys.exit("smile serve did not become healthy in 120 s")


def start_worker(
    data_dir: Path, log_level: str, database_url: str, concurrency: int = 4, **extra: str
) -> subprocess.Popen:
    """`smile worker` (procrastinate) on the same database."""
    env = server_env(0, data_dir, log_level, database_url, **extra)
    with open(data_dir / "worker.log", "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "smile.cli", "worker", "--concurrency", str(concurrency)],
            cwd=data_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    mem_kb = int(re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return (
        f"{os.cpu_count()} CPU(s), {model.group(1).strip() if model else platform.processor() or 'unknown'}, "
        f"{mem_kb / 1024 / 1024:.1f} GiB RAM, Linux {platform.release()}, Python {platform.python_version()}"
    )


def now_utc() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"


def write_doc(section: str, begin: str, end: str) -> None:
    """Replace the text between the markers `begin` and `end` (included) in docs/benchmarks.md, or append it."""
    DOC.parent.mkdir(exist_ok=True)
    text = (
        DOC.read_text()
        if DOC.exists()
        else (
            "# Benchmarks\n\nResults of the scripts in `bench/`, each runnable alone. These machines are "
            "noisy: compare ratios measured in one run, never a lone absolute time.\n"
        )
    )
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def use_uvloop() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass


# --- the seeded database: where it is, and access tokens for its users -------------------------------------


def bench_database_url(data_dir: Path, database: str) -> str:
    """SQLAlchemy URL of `database` on SMILE_DATABASE_URL's server, or on the embedded one under data_dir.

    For the embedded server, this process registers as a user of it, so it keeps running until we exit.
    """
    if base := os.environ.get("SMILE_DATABASE_URL"):
        from sqlalchemy.engine import make_url

        return make_url(base).set(database=database).render_as_string(hide_password=False)
    from smile.kit import embedded

    return embedded.start(data_dir, database)


def mint_tokens(conn, user_ids: list[uuid.UUID], minutes: int = 240) -> list[str]:
    """Insert one API session per user and return bearer access tokens signed with SECRET_KEY."""
    from smile.kit.security import encode_jwt

    rows = conn.execute(
        "INSERT INTO auth_sessions (id, user_id, kind, user_agent, ip, expires_at, last_seen_at, created_at) "
        "SELECT gen_random_uuid(), u, 'api', 'bench', '127.0.0.1', now() + interval '1 day', now(), now() "
        "FROM unnest(%s::uuid[]) WITH ORDINALITY AS t(u, n) ORDER BY n RETURNING id, user_id",
        (user_ids,),
    ).fetchall()
    by_user = {user_id: sid for sid, user_id in rows}
    return [
        encode_jwt({"typ": "access", "sub": str(uid), "sid": str(by_user[uid])}, SECRET_KEY, minutes)
        for uid in user_ids
    ]


def histogram(metrics_text: str, name: str, labels: dict[str, str]) -> list[tuple[float, float]]:
    """Cumulative (upper bound, count) buckets of one Prometheus histogram series."""
    out = []
    for line in metrics_text.splitlines():
        if not line.startswith(name + "_bucket{"):
            continue
        raw = line[line.index("{") + 1 : line.index("}")]
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', raw))
        if all(found.get(k) == v for k, v in labels.items()):
            bound = math.inf if found["le"] == "+Inf" else float(found["le"])
            out.append((bound, float(line.rsplit(" ", 1)[1])))
    return sorted(out)


def bucket_delta(before: list[tuple[float, float]], after: list[tuple[float, float]]) -> list[tuple[float, float]]:
    old = dict(before)
    return [(bound, count - old.get(bound, 0.0)) for bound, count in after]


def bucket_quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """Like PromQL histogram_quantile: linear interpolation inside the bucket holding the q-th observation."""
    if not buckets or buckets[-1][1] == 0:
        return float("nan")
    rank, prev_bound, prev_count = q * buckets[-1][1], 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return prev_bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / max(count - prev_count, 1e-9)
        prev_bound, prev_count = bound, count
    return prev_bound


def bucket_range(buckets: list[tuple[float, float]], q: float) -> tuple[float, float]:
    """(lower, upper] bounds of the bucket holding the q-th observation."""
    total, low = (buckets[-1][1] if buckets else 0), 0.0
    for bound, count in buckets:
        if total and count >= q * total:
            return low, bound
        low = bound
    return low, math.inf


def share_under(buckets: list[tuple[float, float]], bound: float) -> float:
    total = buckets[-1][1] if buckets else 0
    return dict(buckets).get(bound, float("nan")) / total if total else float("nan")
