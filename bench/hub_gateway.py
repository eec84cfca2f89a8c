"""Benchmark: the gateway's overhead, POST /v1/chat/completions through smile and through LiteLLM proxy,
against straight to the upstream, in one run.

Runnable alone:  .venv/bin/python bench/hub_gateway.py [--duration 6] [--concurrency 8,32] [--no-litellm] [--no-write]

Starts a minimal OpenAI-compatible upstream stub (Starlette on uvicorn, its own process; the reply is
16 words for max_tokens 16, one word per streamed chunk), `smile serve --workers 1` on the embedded
PostgreSQL (or SMILE_DATABASE_URL's server) with SMILE_AI_PROVIDERS / SMILE_AI_MODELS pointing at the
stub, and LiteLLM proxy (bench/litellm_proxy.py: its own venv, its own database on the same PostgreSQL
server, a virtual key with a budget, spend tracking on) pointing at the same stub. Makes one verified
user, funds the wallet through the ledger, creates an API key through the API (rate limits raised so
they never refuse), then drives, with one keep-alive HTTP/1.1 load generator:

- direct: the chat completion (small prompt, max_tokens 16) sent straight to the stub, non-streamed and
  streamed;
- smile: the same through smile's /v1/chat/completions with the key (wallet hold, upstream call, capture,
  ai_usage row), non-streamed and streamed (stream_options.include_usage);
- litellm: the same through LiteLLM with its virtual key.

Scenarios alternate in short rounds so drift hits them alike. Prints requests/s, p50/p95 latency,
time to the response head (streams), CPU per request of each gateway, of PostgreSQL and of the stub,
the ratios; then checks that the wallet's balance equals the funding minus the sum of ai_usage credits,
that nothing is left held, that the ledger verifies clean, and reads LiteLLM's recorded spend for its
key. Writes docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import litellm_proxy
from common import (
    DEFAULT_DATA_DIR,
    DOC,
    PASSWORD,
    ROOT,
    bench_database_url,
    free_port,
    machine,
    now_utc,
    percentile,
    start_server,
    stop,
    use_uvloop,
    write_doc,
)

BEGIN, END = "<!-- bench:hub_gateway:begin -->", "<!-- bench:hub_gateway:end -->"
FUNDS = 10**12
MODEL = "bench"  # alias|provider|upstream|in|out|cached credits per 1M tokens|context: ~1 credit in, 2 out
MODELS = f"{MODEL}|stub|stub-model|1000000|2000000|500000|8192|"
REPLY = [
    "Hello",
    "from",
    "the",
    "stub",
    ",",
    "here",
    "are",
    "some",
    "words",
    "to",
    "stream",
    "back",
    "one",
    "at",
    "a",
    "time",
    "and",
    "then",
    "a",
    "few",
    "more",
]
PROMPT = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello in a few words."}]
PER_REQUEST_USD = 14 * litellm_proxy.INPUT_COST + 16 * litellm_proxy.OUTPUT_COST  # the stub's usage for PROMPT
SCENARIOS = ("direct", "smile", "litellm", "direct_stream", "smile_stream", "litellm_stream")
GATEWAYS = ("smile", "litellm")


# ---- the upstream stub (run as `hub_gateway.py --stub PORT`) ----


def stub_app():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    async def chat(request):
        body = await request.json()
        words = REPLY[: body.get("max_tokens") or len(REPLY)]
        prompt = 5 + len(" ".join(str(m.get("content") or "") for m in body["messages"]).split())
        usage = {"prompt_tokens": prompt, "completion_tokens": len(words), "total_tokens": prompt + len(words)}
        base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": 1, "model": body["model"]}  # unique, as upstreams
        finish = "length" if len(words) < len(REPLY) else "stop"
        if not body.get("stream"):
            return JSONResponse(
                {
                    **base,
                    "object": "chat.completion",
                    "usage": usage,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": finish,
                            "message": {"role": "assistant", "content": " ".join(words)},
                        }
                    ],
                }
            )

        def chunk(delta, finish_reason=None, **extra):
            return (
                "data: "
                + json.dumps(
                    {
                        **base,
                        "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                        **extra,
                    }
                )
                + "\n\n"
            )

        async def events():
            yield chunk({"role": "assistant", "content": ""})
            for i, word in enumerate(words):
                yield chunk({"content": word if i == 0 else " " + word})
            yield chunk({}, finish)
            if (body.get("stream_options") or {}).get("include_usage"):
                yield (
                    "data: "
                    + json.dumps({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
                    + "\n\n"
                )
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def start_stub(port: int, data_dir: Path) -> subprocess.Popen:
    with open(data_dir / "stub.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, __file__, "--stub", str(port)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.post(
                f"http://127.0.0.1:{port}/v1/chat/completions", json=chat_body("stub-model", False), timeout=2
            ).raise_for_status()
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("the upstream stub did not start")


# ---- load ----


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    heads: list[float] = field(default_factory=list)  # time to the response head
    seconds: float = 0.0
    errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, p: float, values: list[float] | None = None) -> float:
        return percentile(self.latencies if values is None else values, p) * 1000

    def cpu_us(self, who: str) -> float:
        return self.cpu.get(who, 0.0) / len(self.latencies) * 1e6 if self.latencies else float("nan")


def chat_body(model: str, stream: bool) -> dict:
    body = {"model": model, "messages": PROMPT, "max_tokens": 16, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def post_bytes(body: dict, token: str | None = None) -> bytes:
    data = json.dumps(body).encode()
    lines = [
        "POST /v1/chat/completions HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    if m := re.search(rb"(?i)content-length: *(\d+)", head):
        return await reader.readexactly(int(m.group(1)))
    out = b""
    while True:  # chunked transfer encoding
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return out
        out += chunk[:-2]


async def client(port: int, request: bytes, stream: bool, stats: Stats, stop_at: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            got_head = time.perf_counter()
            body = await read_body(reader, head)
            stats.latencies.append(time.perf_counter() - start)
            stats.heads.append(got_head - start)
            ok = head.startswith(b"HTTP/1.1 200") and (
                body.rstrip().endswith(b"data: [DONE]")
                if stream
                else b'"completion_tokens":16' in body.replace(b" ", b"")
            )
            stats.errors += not ok
    finally:
        writer.close()


def cpu_of(procs: dict[str, list[psutil.Process]]) -> dict[str, float]:
    out = {}
    for who, group in procs.items():
        total = 0.0
        for p in group:
            try:
                t = p.cpu_times()
                total += t.user + t.system
                if p is group[0] and who == "postgres":  # the postmaster: add its exited backends' CPU too
                    total += t.children_user + t.children_system
            except psutil.Error:
                pass
        out[who] = total
    return out


async def run_round(
    port: int, request: bytes, stream: bool, seconds: float, concurrency: int, stats: Stats, procs_fn
) -> None:
    """Processes are listed before and after: a backend that exits during the round is counted through the
    postmaster's children times, one that starts during it through the second listing."""
    before, started = cpu_of(procs_fn()), time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(client(port, request, stream, stats, stop_at) for _ in range(concurrency)))
    stats.seconds += time.perf_counter() - started
    for who, value in cpu_of(procs_fn()).items():
        stats.cpu[who] = stats.cpu.get(who, 0.0) + value - before[who]


@functools.cache
def _postmaster(data_dir: Path) -> psutil.Process | None:
    pid_file = next(data_dir.rglob("postmaster.pid"), None)
    return psutil.Process(int(pid_file.read_text().split()[0])) if pid_file else None


def postgres_processes(data_dir: Path, url: str) -> list[psutil.Process]:
    """The postmaster and its backends (embedded: found by its pid file; external: none measured)."""
    master = _postmaster(data_dir)
    return [master, *master.children(recursive=True)] if master else []


def gateway(name: str) -> str | None:
    return next((g for g in GATEWAYS if name.startswith(g)), None)


async def measure(
    ports: dict[str, int], keys: dict[str, str], args, procs_fn
) -> tuple[dict[tuple[str, int], Stats], dict[str, int]]:
    """Stats per (path, concurrency), and how many requests each gateway answered in all (warm-up included)."""
    requests = {
        "direct": (ports["stub"], post_bytes(chat_body("stub-model", False)), False),
        "smile": (ports["smile"], post_bytes(chat_body(MODEL, False), keys["smile"]), False),
        "litellm": (ports.get("litellm"), post_bytes(chat_body(MODEL, False), keys.get("litellm")), False),
        "direct_stream": (ports["stub"], post_bytes(chat_body("stub-model", True)), True),
        "smile_stream": (ports["smile"], post_bytes(chat_body(MODEL, True), keys["smile"]), True),
        "litellm_stream": (ports.get("litellm"), post_bytes(chat_body(MODEL, True), keys.get("litellm")), True),
    }
    requests = {name: r for name, r in requests.items() if r[0] is not None}
    results, answered = {}, dict.fromkeys(GATEWAYS, 0)

    def count(name: str, stats: Stats) -> None:
        if g := gateway(name):
            answered[g] += len(stats.latencies) - stats.errors

    for concurrency in args.concurrency:
        for name, (port, request, stream) in requests.items():  # warm-up, not counted
            await run_round(port, request, stream, args.warmup, concurrency, stats := Stats(), procs_fn)
            count(name, stats)
        for name in requests:
            results[(name, concurrency)] = Stats()
        for i in range(args.rounds):
            order = list(requests) if i % 2 == 0 else list(reversed(requests))
            for name in order:
                port, request, stream = requests[name]
                await run_round(
                    port,
                    request,
                    stream,
                    args.duration / args.rounds,
                    concurrency,
                    results[(name, concurrency)],
                    procs_fn,
                )
        for name in requests:
            count(name, results[(name, concurrency)])
    return results, answered


# ---- setup and checks ----


def setup_user(base: str, url: str) -> tuple[str, uuid.UUID]:
    from smile.seed import create_user_sync

    user_id = create_user_sync(url, email="gw@example.com", username="gwbench", password=PASSWORD, roles=["user"])
    r = httpx.post(f"{base}/api/v1/auth/login", json={"login": "gwbench", "password": PASSWORD}, timeout=30)
    r.raise_for_status()
    token = r.json()["access_token"]
    r = httpx.post(
        f"{base}/api/v1/hub/keys",
        json={"name": "bench", "scopes": ["chat"]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if r.status_code != 201:
        sys.exit(f"key creation failed: {r.status_code} {r.text}")
    return r.json()["secret"], user_id


async def fund(url: str, user_id: uuid.UUID) -> None:
    from smile.billing.ledger import service as ledger
    from smile.billing.ledger.service import CREDITS, Leg
    from smile.kit.db import Database

    database = Database(url, pool_size=1)
    try:
        async with database.session() as db:
            wallet = await ledger.wallet(db, user_id)
            promo = await ledger.platform(db, ledger.PROMOTIONS, CREDITS)
            await ledger.post(db, "grant", [Leg(promo, -FUNDS), Leg(wallet, FUNDS)], key=f"bench:fund:{user_id}")
    finally:
        await database.dispose()


async def check(url: str, user_id: uuid.UUID) -> dict:
    """Wallet balance vs funding minus the ai_usage credits; holds left; ledger verify()."""
    from sqlalchemy import text

    from smile.billing.ledger import service as ledger
    from smile.billing.ledger.verify import verify
    from smile.kit.db import Database

    database = Database(url, pool_size=1)
    try:
        async with database.session() as db:
            wallet = await ledger.balance(db, await ledger.wallet(db, user_id))
            used, calls = (
                await db.execute(
                    text("SELECT coalesce(sum(credits), 0), count(*) FROM ai_usage WHERE user_id = :u"), {"u": user_id}
                )
            ).one()
            violations = await verify(db)
    finally:
        await database.dispose()
    return {
        "balance": wallet.balance,
        "held": wallet.held,
        "used": int(used),
        "calls": calls,
        "exact": wallet.balance == FUNDS - int(used) and wallet.held == 0,
        "violations": violations,
    }


# ---- report ----


def report(results, checks: dict, answered: dict[str, int], args, database: str, load: float) -> str:
    table = [
        "| path | conc. | requests/s | p50 ms | p95 ms | head p50 ms | gateway CPU µs/req | PostgreSQL CPU "
        "µs/req | stub CPU µs/req | non-200/bad |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {
        "direct": "direct to stub",
        "smile": "smile /v1 (key, metered)",
        "litellm": "LiteLLM (virtual key, budget)",
        "direct_stream": "direct to stub, streamed",
        "smile_stream": "smile /v1, streamed",
        "litellm_stream": "LiteLLM, streamed",
    }
    ratios = []
    for c in args.concurrency:
        for name in SCENARIOS:
            if (name, c) not in results:
                continue
            s = results[(name, c)]
            g = gateway(name)
            table.append(
                f"| {names[name]} | {c} | {s.rps():.0f} | {s.pct(0.5):.2f} | {s.pct(0.95):.2f} | "
                f"{s.pct(0.5, s.heads):.2f} | {f'{s.cpu_us(g):.0f}' if g else '–'} | "
                f"{s.cpu_us('postgres'):.0f} | {s.cpu_us('stub'):.0f} | {s.errors} |"
            )
        for kind, suffix in (("non-streamed", ""), ("streamed", "_stream")):
            d = results[("direct" + suffix, c)]
            for g in GATEWAYS:
                if (g + suffix, c) not in results:
                    continue
                v = results[(g + suffix, c)]
                ratios.append(
                    f"- {kind}, {c} connections: {g} ÷ direct = {v.rps() / d.rps():.3f}× the throughput, "
                    f"p50 {v.pct(0.5) - d.pct(0.5):+.2f} ms, p95 {v.pct(0.95) - d.pct(0.95):+.2f} ms; "
                    f"{v.cpu_us(g):.0f} µs of the gateway's CPU and "
                    f"{v.cpu_us('postgres') - d.cpu_us('postgres'):.0f} µs of PostgreSQL CPU per request"
                )
            if ("litellm" + suffix, c) in results:
                sm, lt = results[("smile" + suffix, c)], results[("litellm" + suffix, c)]
                ratios.append(
                    f"  - **smile ÷ LiteLLM ({kind}, {c} connections): {sm.rps() / lt.rps():.2f}× the "
                    f"throughput, {(sm.pct(0.5) - d.pct(0.5)) / (lt.pct(0.5) - d.pct(0.5)):.2f}× the added "
                    f"p50, {(sm.pct(0.95) - d.pct(0.95)) / (lt.pct(0.95) - d.pct(0.95)):.2f}× the added "
                    f"p95, {sm.cpu_us('smile') / lt.cpu_us('litellm'):.2f}× the gateway CPU per request**"
                )
    command = " ".join([".venv/bin/python", "bench/hub_gateway.py", *sys.argv[1:]])
    sent = answered["smile"]
    verdict = "exact" if checks["exact"] and checks["calls"] == sent else "NOT exact"
    violations = checks["violations"]
    return "\n".join(
        [
            BEGIN,
            "## Gateway overhead: `POST /v1/chat/completions` through smile and through LiteLLM proxy vs straight "
            "to the upstream",
            "",
            f"- Date: {now_utc()}",
            f"- Machine: {machine()}; 1-minute load average {load:.2f} when the run started",
            f"- Command: `{command}`",
            f"- Setup: an OpenAI-compatible stub upstream (Starlette on uvicorn, own process, no think time; "
            "16 words for max_tokens 16, one per streamed chunk) and `smile serve --workers 1` (uvicorn, in-process "
            f"job worker on) on {database} PostgreSQL, log level {args.log_level}, the stub as its only provider "
            "(`SMILE_AI_PROVIDERS`/`SMILE_AI_MODELS`), per-key/user rate limits raised so they never refuse (still "
            "counted). Request: 2 short messages, `max_tokens: 16`; streamed with `stream_options.include_usage`. "
            "Through smile each call authenticates the key, counts the rate limits, reserves the wallet (ledger "
            "hold), calls the upstream with the `openai` SDK, captures the hold and writes the `ai_usage` row. "
            f"LiteLLM proxy {litellm_proxy.LITELLM_VERSION} (`litellm[proxy]` from PyPI in its own venv, "
            "`bench/litellm_proxy.py`) runs one process on the same machine against the same stub, with its "
            "PostgreSQL database on the same server, a virtual key with `max_budget` and per-token prices, so "
            "budget checks and spend tracking are on. Prisma's native query engine cannot be downloaded here, so "
            "the same engine commit's WebAssembly build from npm (`@prisma/query-engine-wasm` on "
            "`@prisma/adapter-pg`) answers in its place through a small Node shim (about 2-3.5 ms of CPU per "
            "LiteLLM request, counted in LiteLLM's column). "
            f"Load: this script's keep-alive HTTP/1.1 generator, {args.rounds} alternating rounds of "
            f"{args.duration / args.rounds:.1f} s per path and concurrency after {args.warmup:.0f} s warm-up. "
            "Generator, stub, smile and PostgreSQL share the same cores: compare ratios, not absolute figures. "
            "Latency is to the last byte; head = time to the response head (for smile's streams: after the hold "
            "and the upstream connect). CPU is per process (smile's uvicorn process; LiteLLM's process and its Node "
            "engine; for PostgreSQL the postmaster, its backends listed at the round's start and end, and the backends "
            "that exited in between through the postmaster's children times; both gateways' databases are on that one "
            "server).",
            "",
            *table,
            "",
            *ratios,
            "",
            f"**Metering under load: {verdict}.** {checks['calls']:,} calls recorded in `ai_usage` for {sent:,} "
            f"answered requests; wallet balance {checks['balance']:,} = funding {FUNDS:,} − {checks['used']:,} "
            f"credits in `ai_usage`: {'yes' if checks['balance'] == FUNDS - checks['used'] else 'NO'}; "
            f"{checks['held']:,} credits left held; ledger `verify()`: "
            f"{'clean' if not violations else f'{len(violations)} violation(s)'}.",
            *([] if "litellm" not in checks else ["", litellm_line(checks["litellm"], answered["litellm"])]),
            END,
        ]
    )


def litellm_line(spend: dict, answered: int) -> str:
    expected = answered * PER_REQUEST_USD
    return (
        f"**LiteLLM's accounting:** {answered:,} answered requests at {PER_REQUEST_USD:.6f} $ each = "
        f"{expected:.6f} $; the key's spend read from its `/key/info` right after the load: "
        f"{spend['first']:.6f} $, and {spend['last']:.6f} $ after {spend['waited']:.0f} s (LiteLLM writes "
        f"spend to its database in batches; in-process counters enforce the budget in between)."
    )


def litellm_spend(port: int, key: str, data_dir: Path) -> dict:
    """The key's spend right away, then until it stops changing for 20 s (at most 90 s)."""
    master = json.loads((data_dir / "litellm_config.yaml").read_text())["general_settings"]["master_key"]
    first = last = litellm_proxy.key_spend(port, key, master)
    started = changed = time.monotonic()
    while time.monotonic() - changed < 20 and time.monotonic() - started < 90:
        time.sleep(2)
        now = litellm_proxy.key_spend(port, key, master)
        if now != last:
            last, changed = now, time.monotonic()
    return {"first": first, "last": last, "waited": changed - started}


def drop_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = target.set(database="postgres").set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stub", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=6.0, help="measured seconds per path and concurrency")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds the duration is split into")
    parser.add_argument("--warmup", type=float, default=1.5, help="warm-up seconds per path and concurrency")
    parser.add_argument(
        "--concurrency",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[8, 32],
        help="keep-alive connections, comma-separated",
    )
    parser.add_argument("--log-level", default="WARNING", help="server SMILE_LOG_LEVEL")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument(
        "--no-litellm",
        action="store_true",
        help="skip LiteLLM proxy (bench/litellm_proxy.py installs it in its own venv on first use)",
    )
    args = parser.parse_args()
    if args.stub:
        import uvicorn

        uvicorn.run(stub_app(), host="127.0.0.1", port=args.stub, log_level="warning", access_log=False)
        return
    use_uvloop()

    data_dir = DEFAULT_DATA_DIR  # the embedded PostgreSQL the other benches use; a database of our own in it
    data_dir.mkdir(parents=True, exist_ok=True)
    database = "external" if os.environ.get("SMILE_DATABASE_URL") else "embedded"
    ports = {"stub": free_port(), "smile": free_port()}
    load = os.getloadavg()[0]
    stub = start_stub(ports["stub"], data_dir)
    url = bench_database_url(data_dir, f"smile_gw_{os.getpid()}")
    print(f"starting smile serve on :{ports['smile']} ({database} PostgreSQL, data dir {data_dir}) ...", flush=True)
    n = str(10**9)
    proc = start_server(
        ports["smile"],
        data_dir,
        args.log_level,
        url,
        SMILE_AI_PROVIDERS=f"stub|openai|http://127.0.0.1:{ports['stub']}/v1|sk-bench",
        SMILE_AI_MODELS=MODELS,
        SMILE_AI_DEFAULT_MODEL=MODEL,
        SMILE_MODERATION_CLASSIFIER="0",
        SMILE_STARTING_CREDITS="0",
        SMILE_HUB_KEY_RPM=n,
        SMILE_HUB_USER_RPM=n,
        SMILE_HUB_KEY_TPM=n,
        SMILE_HUB_USER_TPM=n,
    )
    litellm = None
    try:
        secret, user_id = setup_user(f"http://127.0.0.1:{ports['smile']}", url)
        asyncio.run(fund(url, user_id))
        keys = {"smile": secret}
        if not args.no_litellm:
            litellm, ports["litellm"], keys["litellm"] = litellm_proxy.start_litellm(
                ports["stub"], data_dir / "litellm", None
            )
        smile_p, stub_p = psutil.Process(proc.pid), psutil.Process(stub.pid)
        litellm_p = [psutil.Process(litellm.pid)] if litellm else []

        def procs_fn():
            return {
                "smile": [smile_p],
                "stub": [stub_p],
                "postgres": postgres_processes(data_dir, url),
                "litellm": [*litellm_p, *(c for p in litellm_p for c in p.children(recursive=True))],
            }

        print(f"measuring {args.duration:.0f} s per path at concurrency {args.concurrency} ...", flush=True)
        results, answered = asyncio.run(measure(ports, keys, args, procs_fn))
        time.sleep(1)  # let the last settlements finish
        checks = asyncio.run(check(url, user_id))
        if litellm:
            checks["litellm"] = litellm_spend(ports["litellm"], keys["litellm"], data_dir / "litellm")
    finally:
        if litellm:
            litellm_proxy.stop_litellm(litellm)
        stop(proc)
        stop(stub)
        drop_database(url)
    section = report(results, checks, answered, args, database, load)
    print("\n" + section.split("\n", 1)[1].rsplit("\n", 1)[0])
    bad = (
        any(s.errors for s in results.values())
        or not checks["exact"]
        or checks["violations"]
        or checks["calls"] != answered["smile"]
    )
    if not args.no_write:
        write_doc(section, BEGIN, END)
        print(f"\nwrote {DOC.relative_to(ROOT)}")
    if bad:
        sys.exit("errors, inexact metering or ledger violations: see above")


if __name__ == "__main__":
    main()
