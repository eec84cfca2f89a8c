"""Benchmark: memory per idle WebSocket and broadcast latency to 1,000 subscribers.

Runnable alone, after bench/social_seed.py:
    .venv/bin/python bench/social_ws.py [--connections 1000] [--broadcasts 5] [--via auto|post|emit] [--no-write]

Uses the seeded database. Starts `smile serve --workers 1` (SMILE_RUN_WORKER=0) on 127.0.0.1 and,
for --via post, a `smile worker`. Mints tokens for the 1,000 people who follow `caster`, opens one
GET /api/v1/stream WebSocket per person (in batches), waits for every "ready", and reads the server
process's RSS (psutil) before and after: the difference over N is the memory per idle connection.

Broadcast: --via post posts as `caster` through POST /api/v1/posts and waits for the "post"
event the fan-out job emits to each follower; --via emit calls smile.social.realtime.service.emit for
the 1,000 followers in this process's own transaction (the bus and hub path alone, no job). Latency is
measured from the POST response (or the emit commit) to each client's receipt: p50, p95, max. --via auto
(the default) probes the post path once and falls back to emit when no follower gets a "post" event.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import psycopg
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402 - bench/ is not a package
    DEFAULT_DATA_DIR,
    DOC,
    ROOT,
    SECRET_KEY,
    bench_database_url,
    free_port,
    machine,
    mint_tokens,
    now_utc,
    percentile,
    start_server,
    start_worker,
    stop,
    write_doc,
)

BEGIN, END = "<!-- bench:social_ws:begin -->", "<!-- bench:social_ws:end -->"


CURRENT = {"marker": None}  # the broadcast in flight, for events whose payload does not carry our marker


class Subscriber:
    """One idle WebSocket that records when each awaited event arrives."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.ready = asyncio.Event()
        self.received: dict[str, float] = {}  # marker -> perf_counter at receipt
        self.ws = None

    async def run(self, port: int, kind: str) -> None:
        url = f"ws://127.0.0.1:{port}/api/v1/stream"
        async with connect(
            url, subprotocols=["smile.v1", f"bearer.{self.token}"], ping_interval=None, max_queue=None, open_timeout=60
        ) as ws:
            self.ws = ws
            async for raw in ws:
                message = json.loads(raw)
                if message.get("kind") == "ready":
                    self.ready.set()
                elif message.get("kind") == kind:
                    marker = marker_of(message.get("payload") or {}) or CURRENT["marker"]
                    if marker:
                        self.received.setdefault(marker, time.perf_counter())


def marker_of(payload: dict) -> str | None:
    """The broadcast marker inside an event payload (post body or our own field)."""
    text = json.dumps(payload)
    start = text.find("bench-broadcast-")
    return text[start : start + 24] if start >= 0 else None


def rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


async def open_all(port: int, tokens: list[str], kind: str, batch: int) -> tuple[list[Subscriber], list]:
    subs = [Subscriber(t) for t in tokens]
    tasks = []
    for i in range(0, len(subs), batch):
        part = subs[i : i + batch]
        tasks += [asyncio.create_task(s.run(port, kind)) for s in part]
        await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in part)), 120)
    return subs, tasks


async def emit_direct(url: str, user_ids: list, marker: str) -> None:
    """The app's own emit, in a transaction of this process (PostgreSQL bus: pg_notify on commit)."""
    import smile.identity.models  # noqa: F401 - the tables stream_events refers to
    from smile.config import Settings
    from smile.kit import runtime
    from smile.social.realtime.service import emit

    try:
        runtime.current()
    except RuntimeError:
        runtime.start(Settings(_env_file=None, secret_key=SECRET_KEY, database_url=url), url, pool_size=2)
    async with runtime.current().db.session() as db:
        await emit(db, user_ids, "post", {"body": marker})


async def broadcast(
    args, port: int, url: str, caster_token: str, followers: list, subs: list[Subscriber], index: int
) -> dict:
    marker = f"bench-broadcast-{index:08d}"
    CURRENT["marker"] = marker
    started = time.perf_counter()
    if args.via == "post":
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            r = await client.post(
                "/api/v1/posts",
                headers={"Authorization": f"Bearer {caster_token}"},
                json={"body": f"{marker} hello followers", "visibility": "public"},
            )
        if r.status_code != 201:
            sys.exit(f"POST /api/v1/posts failed: {r.status_code} {r.text}")
    else:
        await emit_direct(url, followers, marker)
    t0 = time.perf_counter()
    deadline = t0 + args.timeout
    while time.perf_counter() < deadline and sum(marker in s.received for s in subs) < len(subs):
        await asyncio.sleep(0.005)
    got = [s.received[marker] - t0 for s in subs if marker in s.received]
    result = {
        "send_ms": (t0 - started) * 1000,
        "received": len(got),
        "of": len(subs),
        "p50": percentile(got, 0.5) * 1000,
        "p95": percentile(got, 0.95) * 1000,
        "max": max(got) * 1000 if got else float("nan"),
        "all": got,
    }
    print(
        f"  broadcast {index + 1 if index < 999 else '(probe)'}: {len(got)}/{len(subs)} received; "
        f"p50 {result['p50']:.0f} ms, "
        f"p95 {result['p95']:.0f} ms, max {result['max']:.0f} ms",
        flush=True,
    )
    return result


async def run(args, port: int, pid: int, url: str, tokens: list[str], caster_token: str, followers: list):
    # Warm the server (imports, pools, bus listener) with a few connections before the baseline.
    warm, warm_tasks = await open_all(port, tokens[:10], "post", 10)
    for s in warm:
        await s.ws.close()
    await asyncio.gather(*warm_tasks, return_exceptions=True)
    await asyncio.sleep(2)
    before = rss(pid)
    subs, tasks = await open_all(port, tokens, "post", args.batch)
    await asyncio.sleep(3)
    after = rss(pid)
    print(
        f"  {len(subs)} connections open: server RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB "
        f"({(after - before) / len(subs) / 1024:.1f} KiB each)",
        flush=True,
    )
    if args.via == "auto":  # the API path when this build emits "post" events on fan-out, else emit
        args.via, timeout, args.timeout = "post", args.timeout, 15.0
        probe = await broadcast(args, port, url, caster_token, followers, subs, 999)
        args.timeout = timeout
        if probe["received"] == 0:
            print("  no `post` event reached any follower: measuring with --via emit", flush=True)
            args.via, args.fell_back = "emit", True
    if args.via == "emit":
        await emit_direct(url, [], "warm-up")  # start this process's runtime before timing
    results = []
    for i in range(args.broadcasts):
        results.append(await broadcast(args, port, url, caster_token, followers, subs, i))
        await asyncio.sleep(1)
    for s in subs:
        await s.ws.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    return before, after, results


def report(args, database: str, load: float, before: int, after: int, results: list[dict]) -> str:
    n = args.connections
    every = [x for r in results for x in r["all"]]
    table = [
        "| broadcast | received | send ms (POST or emit commit) | p50 ms | p95 ms | max ms |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    table += [
        f"| {i + 1} | {r['received']}/{r['of']} | {r['send_ms']:.0f} | {r['p50']:.0f} | {r['p95']:.0f} "
        f"| {r['max']:.0f} |"
        for i, r in enumerate(results)
    ]
    path = (
        "`caster` posts through `POST /api/v1/posts`; a `smile worker` runs the fan-out job, which emits a "
        "`post` event to each follower; latency from the POST response to receipt"
        if args.via == "post"
        else "this script calls `smile.social.realtime.service.emit` for the followers in its own "
        "transaction (PostgreSQL bus: `pg_notify` at commit; the servers' hub reads the events back); "
        "latency from the commit to receipt"
    )
    if getattr(args, "fell_back", False):
        path += (
            " (`--via auto` first posted as `caster` through `POST /api/v1/posts` with a worker running: no "
            "follower received a `post` event within 15 s, so this build does not push new posts to followers' "
            "streams yet, and the bus-to-socket path was measured alone)"
        )
    command = " ".join([".venv/bin/python", "bench/social_ws.py", *sys.argv[1:]])
    return "\n".join(
        [
            BEGIN,
            f"## Social: memory per idle WebSocket, broadcast latency to {n:,} subscribers",
            "",
            f"- Date: {now_utc()}",
            f"- Machine: {machine()}; 1-minute load average {load:.2f} when the run started",
            f"- Command: `{command}` (after `.venv/bin/python bench/social_seed.py`)",
            f"- Setup: `smile serve --workers 1` (`SMILE_RUN_WORKER=0`), {database} PostgreSQL, one process; "
            f"{n} WebSockets to `GET /api/v1/stream` (token in `Sec-WebSocket-Protocol`) from this script over "
            "loopback, one per "
            "follower of `caster`, opened in batches and each waited for until its `ready`. Memory is the "
            "server process's RSS (psutil) after 10 warm-up connections closed, and 3 s after all are open.",
            "",
            f"**Memory: {before / 2**20:.1f} MiB → {after / 2**20:.1f} MiB with {n} idle connections: "
            f"{(after - before) / n / 1024:.1f} KiB per connection.**",
            "",
            f"Broadcast: {path}.",
            "",
            *table,
            "",
            f"**All {len(results)} broadcasts: {len(every)}/{n * len(results)} deliveries, p50 "
            f"{percentile(every, 0.5) * 1000:.0f} ms, p95 {percentile(every, 0.95) * 1000:.0f} ms, max "
            f"{max(every) * 1000 if every else float('nan'):.0f} ms; median time to the last subscriber "
            f"{statistics.median(r['max'] for r in results):.0f} ms.**",
            END,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="smile_bench")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50, help="connections opened at once")
    parser.add_argument("--broadcasts", type=int, default=5)
    parser.add_argument(
        "--via",
        choices=("auto", "post", "emit"),
        default="auto",
        help="auto: post when the build emits `post` events to followers, else emit",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each broadcast")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, args.connections * 2 + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # inherited by the server below

    url = bench_database_url(args.data_dir, args.database)
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as conn:
        row = conn.execute("SELECT id FROM users WHERE username = 'caster'").fetchone()
        if row is None:
            sys.exit("no `caster` account: run bench/social_seed.py first")
        followers = [
            r[0]
            for r in conn.execute(
                "SELECT follower_id FROM follows WHERE followee_id = %s AND status = 'accepted' ORDER BY 1 LIMIT %s",
                (row[0], args.connections),
            )
        ]
        tokens = mint_tokens(conn, followers)
        caster_token = mint_tokens(conn, [row[0]])[0]
    args.connections = len(tokens)
    database = "external" if os.environ.get("SMILE_DATABASE_URL") else "embedded"
    data_dir = Path(tempfile.mkdtemp(prefix="sw", dir="/tmp"))
    port = free_port()
    load = os.getloadavg()[0]
    print(f"starting smile serve on :{port} ({database} PostgreSQL, database {args.database}) ...", flush=True)
    proc = start_server(port, data_dir, args.log_level, url, SMILE_RUN_WORKER="0")
    worker = start_worker(data_dir, args.log_level, url) if args.via != "emit" else None
    try:
        print(f"opening {len(tokens)} WebSockets ...", flush=True)
        before, after, results = asyncio.run(run(args, port, proc.pid, url, tokens, caster_token, followers))
    finally:
        if worker:
            stop(worker)
        stop(proc)
        shutil.rmtree(data_dir, ignore_errors=True)
    section = report(args, database, load, before, after, results)
    print("\n" + section.split("\n", 1)[1].rsplit("\n", 1)[0])
    if any(r["received"] < r["of"] for r in results):
        sys.exit("some subscribers did not receive a broadcast in time: see the table")
    if not args.no_write:
        write_doc(section, BEGIN, END)
        print(f"\nwrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
