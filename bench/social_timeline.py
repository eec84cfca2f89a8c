"""Benchmark: home timeline (page of 20) against bare /healthz at scale, and fan-out of one post to 50,000.

Runnable alone, after bench/social_seed.py:
    .venv/bin/python bench/social_timeline.py [--duration 20] [--concurrency 8] [--workers 1] [--no-write]

Uses the seeded database (--database, on SMILE_DATABASE_URL's server or the embedded one under
--data-dir). Starts `smile serve --workers N` with SMILE_RUN_WORKER=0 on 127.0.0.1, mints bearer tokens
for a sample of active people (API sessions inserted directly, JWTs signed with the server's key),
then drives GET /api/v1/timelines/home (each connection cycling through different people) and
GET /healthz in alternating rounds with the keep-alive load loop of bench/common.py. Reports
requests/s and client p50/p95, and the SERVER time from the app's own Prometheus histogram
smile_http_request_seconds (scraped from /metrics before and after; p95 interpolated inside buckets;
with several workers they run with PROMETHEUS_MULTIPROC_DIR and the bench adds up their files).
Server CPU is that of the serve process and its children.

Fan-out: starts `smile worker` with SMILE_SOCIAL_FANOUT_MAX_FOLLOWERS raised above 50,000 (with the
default 10,000, `star` is merged on read and its posts are not fanned out at all), posts as `star`
(50,000 followers) and times POST returned -> fan-out job succeeded, then checks the entries written.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import psycopg
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402 - bench/ is not a package
    DEFAULT_DATA_DIR,
    DOC,
    ROOT,
    Stats,
    bench_database_url,
    bucket_delta,
    bucket_quantile,
    bucket_range,
    free_port,
    histogram,
    machine,
    mint_tokens,
    now_utc,
    request_bytes,
    run_round,
    server_env,
    share_under,
    start_worker,
    stop,
    use_uvloop,
    write_doc,
)

HOME, HEALTH = "/api/v1/timelines/home", "/healthz"
METRIC = "smile_http_request_seconds"


def sample_people(conn: psycopg.Connection, n: int, seed: int) -> list:
    """Active people who follow someone (the readers a home timeline serves)."""
    rows = [
        r[0]
        for r in conn.execute("""
        SELECT u.id FROM users u JOIN social_activity a ON a.user_id = u.id
        WHERE u.username LIKE 'user%%' AND a.last_active_at > now() - interval '14 days'
          AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = u.id) ORDER BY u.id""")
    ]
    if not rows:
        sys.exit("the database holds no seeded people: run bench/social_seed.py first")
    return random.Random(seed).sample(rows, min(n, len(rows)))


def start_server(port: int, data_dir: Path, log_level: str, url: str, workers: int) -> subprocess.Popen:
    """`smile serve --workers N` with SMILE_RUN_WORKER=0, waited for until /healthz answers."""
    env = server_env(port, data_dir, log_level, url, SMILE_RUN_WORKER="0")
    if workers > 1:  # each worker keeps its metrics in files there; the bench adds them up
        (data_dir / "prometheus").mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(data_dir / "prometheus")
    log = data_dir / f"serve-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "smile.cli", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=data_dir,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"smile serve exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200 and (
                workers == 1 or len(psutil.Process(proc.pid).children()) >= workers
            ):
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    sys.exit("smile serve did not become healthy in 120 s")


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (the uvicorn workers)."""
    root = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])


async def timed_round(port: int, batch: list[bytes], seconds: float, concurrency: int, stats: Stats, pid: int):
    cpu, before = stats.cpu, tree_cpu(pid)
    await run_round(port, batch, seconds, concurrency, stats, pid)
    stats.cpu = cpu + tree_cpu(pid) - before


def metrics(port: int, prom_dir: Path | None) -> str:
    """The server's metrics: from /metrics, or with several workers from their multiprocess files (any
    worker may answer /metrics, with only its own counts)."""
    if prom_dir is None:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(prom_dir))
    return generate_latest(registry).decode()


async def measure(port: int, requests: dict[str, list[bytes]], args, pid: int) -> tuple[dict, dict]:
    for batch in requests.values():  # warm-up: every sampled person at least once
        await run_round(port, batch, args.warmup, args.concurrency, Stats(), pid)
    before = metrics(port, args.prom_dir)
    results = {name: Stats() for name in requests}
    for i in range(args.rounds):
        order = list(requests) if i % 2 == 0 else list(reversed(requests))
        for name in order:
            await timed_round(port, requests[name], args.duration / args.rounds, args.concurrency, results[name], pid)
    after = metrics(port, args.prom_dir)
    server = {name: server_buckets(before, after, route) for name, route in (("home", HOME), ("healthz", HEALTH))}
    # The same page from one connection: service time without queueing behind other requests.
    results["home1"] = Stats()
    before = metrics(port, args.prom_dir)
    await timed_round(port, requests["home"], args.duration / 2, 1, results["home1"], pid)
    server["home1"] = server_buckets(before, metrics(port, args.prom_dir), HOME)
    return results, server


def server_buckets(before: str, after: str, route: str) -> list[tuple[float, float]]:
    labels = {"method": "GET", "route": route}
    return bucket_delta(histogram(before, METRIC, labels), histogram(after, METRIC, labels))


def server_ms(buckets: list[tuple[float, float]], q: float) -> str:
    """Interpolated quantile in ms, with the histogram bucket that holds it."""
    low, high = bucket_range(buckets, q)
    return f"{bucket_quantile(buckets, q) * 1000:.1f} ({low * 1000:g}–{high * 1000:g})"


def fan_out(base: str, libpq: str, token: str, runs: int, timeout: float) -> list[dict]:
    """Post as `star` `runs` times; for each, seconds from POST returned until the fan-out job succeeded."""
    out = []
    with psycopg.connect(libpq, autocommit=True) as conn:
        expected = conn.execute("""
            SELECT count(*) FROM follows f JOIN social_activity a ON a.user_id = f.follower_id
            JOIN users s ON s.id = f.followee_id
            WHERE s.username = 'star' AND f.status = 'accepted'
              AND a.last_active_at > now() - interval '14 days'""").fetchone()[0]
        for i in range(runs):
            started = time.perf_counter()
            r = httpx.post(
                f"{base}/api/v1/posts",
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
                json={"body": f"Fan-out run {i} at {time.time():.0f} #bench", "visibility": "public"},
            )
            returned = time.perf_counter()
            if r.status_code != 201:
                sys.exit(f"POST /api/v1/posts failed: {r.status_code} {r.text}")
            post_id = r.json()["id"]
            status = None
            while time.perf_counter() - returned < timeout:
                row = conn.execute(
                    """SELECT status FROM procrastinate_jobs
                    WHERE task_name = 'timelines.fan_out_post' AND args->>'post_id' = %s""",
                    (post_id,),
                ).fetchone()
                status = row and row[0]
                if status in ("succeeded", "failed"):
                    break
                time.sleep(0.01)
            done = time.perf_counter()
            if status != "succeeded":
                sys.exit(f"fan-out job of {post_id} ended as {status!r} (see the worker log)")
            written = conn.execute("SELECT count(*) FROM timeline_entries WHERE post_id = %s", (post_id,)).fetchone()[0]
            events = dict(
                conn.execute(
                    """
                SELECT e.type, e.at FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id
                WHERE j.task_name = 'timelines.fan_out_post' AND j.args->>'post_id' = %s""",
                    (post_id,),
                ).fetchall()
            )
            run = (events["succeeded"] - events["started"]).total_seconds() if "started" in events else float("nan")
            queued = (events["started"] - events["deferred"]).total_seconds() if "started" in events else float("nan")
            out.append(
                {
                    "post_ms": (returned - started) * 1000,
                    "total_s": done - returned,
                    "job_s": run,
                    "queue_s": queued,
                    "written": written,
                    "expected": expected + 1,
                }
            )
            print(
                f"  run {i + 1}: {written:,} entries (expected {expected + 1:,}); POST {out[-1]['post_ms']:.0f} ms; "
                f"POST returned -> job succeeded {done - returned:.2f} s (queue {queued:.2f} s, job {run:.2f} s)",
                flush=True,
            )
    return out


def markers(workers: int) -> tuple[str, str]:
    """docs/benchmarks.md keeps one section per process count."""
    name = "social_timeline" if workers == 1 else f"social_timeline_workers{workers}"
    return f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"


def report(
    results: dict[str, Stats], server: dict, fans: list[dict], args, database: str, load: float, sizes: dict
) -> str:
    rows = [
        (f"GET {HOME}?limit=20 ({args.people} people, bearer JWT), {args.concurrency} connections", "home"),
        (f"GET {HEALTH} (no auth, no database), {args.concurrency} connections", "healthz"),
        (f"GET {HOME}?limit=20, 1 connection (no queueing)", "home1"),
    ]
    table = [
        "| endpoint | requests | requests/s | client p50 ms | client p95 ms | server p50 ms (bucket) "
        "| server p95 ms (bucket) | server ≤ 50 ms | server CPU µs/request | non-200 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, name in rows:
        s, b = results[name], server[name]
        table.append(
            f"| {label} | {len(s.latencies)} | {s.rps():.0f} | {s.pct(0.5):.2f} | {s.pct(0.95):.2f} "
            f"| {server_ms(b, 0.5)} | {server_ms(b, 0.95)} | {share_under(b, 0.05) * 100:.1f} % "
            f"| {s.cpu_us():.0f} | {s.errors} |"
        )
    home, health = results["home"], results["healthz"]
    p95, p95_1 = (bucket_quantile(server[n], 0.95) * 1000 for n in ("home", "home1"))
    command = " ".join([".venv/bin/python", "bench/social_timeline.py", *sys.argv[1:]])
    begin, end = markers(args.workers)
    processes = "" if args.workers == 1 else f", {args.workers} web processes"
    lines = [
        begin,
        f"## Social: home timeline at scale vs bare `GET /healthz`{processes}"
        + (", and fan-out to 50,000 followers" if fans else ""),
        "",
        f"- Date: {now_utc()}",
        f"- Machine: {machine()}; 1-minute load average {load:.2f} when the run started",
        "- Seed: `.venv/bin/python bench/social_seed.py` (the database it builds: "
        + ", ".join(f"{v:,} {k}" for k, v in sizes.items())
        + ")",
        f"- Command: `{command}`",
        f"- Setup: `smile serve --workers {args.workers}` with `SMILE_RUN_WORKER=0`, {database} PostgreSQL, log level "
        f"{args.log_level}; {args.concurrency} keep-alive connections, {args.rounds} alternating rounds of "
        f"{args.duration / args.rounds:.1f} s per endpoint after {args.warmup:.0f} s warm-up each; each connection "
        f"cycles through the tokens of {args.people} sampled active people. Server time is the app's own "
        f"`{METRIC}` histogram (request in to response out inside the process), p50/p95 interpolated within "
        "its buckets (…, 25, 50, 100 ms, …); server CPU counts every web process. Load generator, server and "
        "PostgreSQL share the same cores.",
        "",
        *table,
        "",
        f"**Home timeline ÷ healthz: {home.rps() / health.rps():.2f}× the throughput, "
        f"{home.cpu_us() / health.cpu_us():.1f}× the server CPU per request. Server-time p95 of the home "
        f"timeline: {p95:.1f} ms at {args.concurrency} connections, {p95_1:.1f} ms from 1 connection "
        f"(target < 50 ms: {'met' if p95 < 50 else 'NOT met'} under load, "
        f"{'met' if p95_1 < 50 else 'NOT met'} without queueing).**",
    ]
    if fans:
        total = [f["total_s"] for f in fans]
        lines += [
            "",
            f"Fan-out of one post by `star` ({fans[0]['expected'] - 1:,} active followers; the run starts "
            "`smile worker --concurrency 4` with `SMILE_SOCIAL_FANOUT_MAX_FOLLOWERS=1000000` so the post is "
            "fanned out rather than merged on read), timed from the `POST /api/v1/posts` response to the "
            "job's `succeeded` status (polled every 10 ms):",
            "",
            "| run | entries written | POST ms | queue s | job s | POST returned → fanned out, s |",
            "|---:|---:|---:|---:|---:|---:|",
            *(
                f"| {i + 1} | {f['written']:,} | {f['post_ms']:.0f} | {f['queue_s']:.2f} | {f['job_s']:.2f} "
                f"| {f['total_s']:.2f} |"
                for i, f in enumerate(fans)
            ),
            "",
            f"**Fan-out to {fans[0]['written']:,} timelines: median {statistics.median(total):.2f} s, "
            f"max {max(total):.2f} s (target < 10 s: {'met' if max(total) < 10 else 'NOT met'}).**",
        ]
    return "\n".join([*lines, end])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="smile_bench")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=float, default=4.0, help="warm-up seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="smile serve --workers (web processes)")
    parser.add_argument("--people", type=int, default=500, help="sampled readers")
    parser.add_argument("--fanout-runs", type=int, default=3, help="posts by star to time (0: skip)")
    parser.add_argument("--fanout-timeout", type=float, default=120.0)
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    use_uvloop()

    url = bench_database_url(args.data_dir, args.database)
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as conn:
        people = sample_people(conn, args.people, args.seed)
        tokens = mint_tokens(conn, people)
        star = conn.execute("SELECT id FROM users WHERE username = 'star'").fetchone()[0]
        star_token = mint_tokens(conn, [star])[0]
        sizes = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("users", "follows", "posts", "timeline_entries")
        }
    args.people = len(people)
    database = "external" if os.environ.get("SMILE_DATABASE_URL") else "embedded"
    data_dir = Path(tempfile.mkdtemp(prefix="st", dir="/tmp"))
    port = free_port()
    load = os.getloadavg()[0]
    print(f"starting smile serve on :{port} ({database} PostgreSQL, database {args.database}) ...", flush=True)
    proc = start_server(port, data_dir, args.log_level, url, args.workers)
    args.prom_dir = data_dir / "prometheus" if args.workers > 1 else None
    worker = None
    try:
        base = f"http://127.0.0.1:{port}"
        check = httpx.get(f"{base}{HOME}", headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=30)
        if check.status_code != 200:
            sys.exit(f"GET {HOME} failed: {check.status_code} {check.text[:500]}")
        print(f"  a sample page holds {len(check.json()['items'])} posts, {len(check.content):,} bytes", flush=True)
        requests = {"home": [request_bytes(f"{HOME}?limit=20", t) for t in tokens], "healthz": [request_bytes(HEALTH)]}
        print(f"measuring {args.duration:.0f} s per endpoint at concurrency {args.concurrency} ...", flush=True)
        results, server = asyncio.run(measure(port, requests, args, proc.pid))
        fans = []
        if args.fanout_runs:
            print("fan-out: starting smile worker ...", flush=True)
            worker = start_worker(data_dir, args.log_level, url, SMILE_SOCIAL_FANOUT_MAX_FOLLOWERS="1000000")
            time.sleep(5)  # let the worker connect and start listening
            if worker.poll() is not None:
                sys.exit(f"smile worker exited:\n{(data_dir / 'worker.log').read_text()[-3000:]}")
            fans = fan_out(base, libpq, star_token, args.fanout_runs, args.fanout_timeout)
    finally:
        if worker:
            stop(worker)
        stop(proc)
        shutil.rmtree(data_dir, ignore_errors=True)
    section = report(results, server, fans, args, database, load, sizes)
    print("\n" + section.split("\n", 1)[1].rsplit("\n", 1)[0])
    if any(s.errors for s in results.values()):
        sys.exit("some responses were not 200: see the table")
    if not args.no_write:
        write_doc(section, *markers(args.workers))
        print(f"\nwrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
