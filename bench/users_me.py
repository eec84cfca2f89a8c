"""Benchmark: authenticated GET /api/v1/users/me against bare GET /healthz on one server.

Runnable alone:  .venv/bin/python bench/users_me.py [--duration 10] [--concurrency 16]

Starts `smile serve` (uvicorn, 1 worker) in a subprocess, on SMILE_DATABASE_URL when set or
else on an embedded PostgreSQL under a temporary data dir; registers and logs in one user;
then drives both endpoints with a small keep-alive HTTP/1.1 load generator (asyncio, in
this process), alternating short rounds so drift and noise hit both alike. Prints
requests/s, p50, p95 and server CPU per request for each, and their ratio, and writes the
figures into docs/benchmarks.md. The load generator shares the machine's cores with the
server (and PostgreSQL), so absolute numbers understate a dedicated server: compare ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402 - bench/ is not a package
    DOC,
    PASSWORD,
    ROOT,
    Stats,
    free_port,
    machine,
    now_utc,
    request_bytes,
    run_round,
    start_server,
    stop,
    use_uvloop,
    write_doc,
)

BEGIN, END = "<!-- bench:users_me:begin -->", "<!-- bench:users_me:end -->"


def create_user(base: str) -> str:
    body = {
        "email": "bench@example.com",
        "username": "bench",
        "password": PASSWORD,
        "display_name": "Bench",
        "accept_terms": True,
    }
    r = httpx.post(f"{base}/api/v1/auth/register", json=body, timeout=30)
    if r.status_code not in (201, 409):
        sys.exit(f"register failed: {r.status_code} {r.text}")
    r = httpx.post(f"{base}/api/v1/auth/login", json={"login": "bench", "password": PASSWORD}, timeout=30)
    if r.status_code != 200:
        sys.exit(f"login failed: {r.status_code} {r.text}")
    token = r.json()["access_token"]
    me = httpx.get(f"{base}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    if me.status_code != 200 or me.json()["username"] != "bench":
        sys.exit(f"GET /api/v1/users/me failed: {me.status_code} {me.text}")
    return token


def report(results: dict[str, Stats], args: argparse.Namespace, database: str, load: float) -> str:
    me, health = results["users_me"], results["healthz"]
    rows = [
        ("GET /api/v1/users/me (bearer JWT + session lookup)", me),
        ("GET /healthz (no auth, no database)", health),
    ]
    table = [
        "| endpoint | requests | requests/s | p50 ms | p95 ms | server CPU µs/request | non-200 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in rows:
        table.append(
            f"| {name} | {len(s.latencies)} | {s.rps():.0f} | {s.pct(0.50):.2f} | {s.pct(0.95):.2f} "
            f"| {s.cpu_us():.0f} | {s.errors} |"
        )
    command = " ".join([".venv/bin/python", "bench/users_me.py", *sys.argv[1:]])
    return "\n".join(
        [
            BEGIN,
            "## Authenticated `GET /api/v1/users/me` vs bare `GET /healthz`",
            "",
            f"- Date: {now_utc()}",
            f"- Machine: {machine()}; 1-minute load average {load:.2f} when the run started",
            f"- Command: `{command}`",
            f"- Setup: `smile serve --workers 1` (uvicorn, in-process job worker on), {database} PostgreSQL, "
            f"log level {args.log_level}; load from this script: {args.concurrency} keep-alive connections, "
            f"{args.rounds} alternating rounds of {args.duration / args.rounds:.1f} s per endpoint after "
            f"{args.warmup:.0f} s warm-up each. The load generator, the server and PostgreSQL share the same cores, "
            "so absolute figures understate a dedicated server; the ratio is the figure to compare.",
            "",
            *table,
            "",
            f"**Ratio users/me ÷ healthz: {me.rps() / health.rps():.2f}× the throughput, "
            f"{me.cpu_us() / health.cpu_us():.1f}× the server CPU per request, "
            f"p50 {me.pct(0.5) / health.pct(0.5):.1f}× the latency.**",
            END,
        ]
    )


async def measure(port: int, token: str, args: argparse.Namespace, pid: int) -> dict[str, Stats]:
    requests = {"users_me": request_bytes("/api/v1/users/me", token), "healthz": request_bytes("/healthz")}
    for request in requests.values():  # warm-up, not counted
        await run_round(port, request, args.warmup, args.concurrency, Stats(), pid)
    results = {name: Stats() for name in requests}
    for i in range(args.rounds):
        order = list(requests) if i % 2 == 0 else list(reversed(requests))
        for name in order:
            await run_round(port, requests[name], args.duration / args.rounds, args.concurrency, results[name], pid)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds the duration is split into")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--log-level", default="WARNING", help="server SMILE_LOG_LEVEL")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    use_uvloop()

    data_dir = Path(tempfile.mkdtemp(prefix="sb", dir="/tmp"))  # short: unix socket paths are limited
    port = free_port()
    database = "external" if os.environ.get("SMILE_DATABASE_URL") else "embedded"
    print(f"starting smile serve on :{port} ({database} PostgreSQL, data dir {data_dir}) ...", flush=True)
    load = os.getloadavg()[0]  # other work on the machine skews absolute figures: reported
    proc = start_server(port, data_dir, args.log_level)
    try:
        token = create_user(f"http://127.0.0.1:{port}")
        print(f"measuring {args.duration:.0f} s per endpoint at concurrency {args.concurrency} ...", flush=True)
        results = asyncio.run(measure(port, token, args, proc.pid))
    finally:
        stop(proc)
        shutil.rmtree(data_dir, ignore_errors=True)
    section = report(results, args, database, load)
    print("\n" + section.split("\n", 1)[1].rsplit("\n", 1)[0])
    if any(s.errors for s in results.values()):
        sys.exit("some responses were not 200: see the table")
    if not args.no_write:
        write_doc(section, BEGIN, END)
        print(f"\nwrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
