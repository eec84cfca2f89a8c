"""LiteLLM proxy in front of the bench's upstream stub, with its database, budgets and spend tracking on.

Runnable alone:  .venv/bin/python bench/litellm_proxy.py
(starts the stub from hub_gateway.py and LiteLLM, sends one chat completion with a budgeted virtual key,
prints the spend LiteLLM recorded for the key, and stops both). The database is LITELLM_DATABASE_URL if
set, else a fresh one on SMILE_DATABASE_URL's server or the embedded one, as for smile.

LiteLLM runs from its own venv (LITELLM_VENV, default /work/litellm/venv), made here if missing with
`litellm[proxy]` pinned to LITELLM_VERSION plus prisma-client-py. Its database layer is prisma-client-py,
which drives Prisma's native query engine binary over HTTP; Prisma downloads its native engines from its
own host, which this machine cannot reach. So the query engine is a small Node program (QUERY_ENGINE_JS)
that runs the wasm build of the same engine commit (@prisma/query-engine-wasm, from npm) on node-postgres
and answers the binary engine's HTTP calls, turning prisma-client-py's GraphQL requests into Prisma's JSON
protocol. `prisma generate` runs with the engine paths pointed at it. The tables come from the migration
SQL that litellm-proxy-extras ships, applied in order (Prisma's schema engine is the other missing binary),
and LiteLLM is told not to migrate (DISABLE_SCHEMA_UPDATE).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA_DIR, bench_database_url, free_port, stop

LITELLM_VERSION = "1.106.2"
PRISMA_PY_VERSION = "0.15.0"  # Prisma 5.17.0, engine commit below
ENGINE_COMMIT = "393aa359c9ad4a4bb28630fb5613f9c281cde053"
ENGINE_PACKAGES = {
    "@prisma/query-engine-wasm": f"5.17.0-31.{ENGINE_COMMIT}",
    "@prisma/adapter-pg": "5.17.0",
    "@prisma/driver-adapter-utils": "5.17.0",
    "pg": "8.23.1",
    "graphql": "16.15.0",
}
MODEL = "bench"
INPUT_COST, OUTPUT_COST = 1e-6, 2e-6  # dollars per token, like smile's bench model: 1 credit in, 2 out per 1M

QUERY_ENGINE_JS = r"""
// Stands in for Prisma's `query-engine` binary in HTTP mode for prisma-client-py.
import http from 'node:http';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { parse } from 'graphql';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindAdapter } from '@prisma/driver-adapter-utils';
import * as wasmGlue from '@prisma/query-engine-wasm/postgresql/query_engine_bg.js';

const argv = process.argv.slice(2);
if (argv.includes('--version')) { console.log('query-engine __COMMIT__'); process.exit(0); }
const port = Number(argv[argv.indexOf('-p') + 1]);

const wasmFile = createRequire(import.meta.url).resolve('@prisma/query-engine-wasm/package.json')
  .replace(/package\.json$/, 'postgresql/query_engine_bg.wasm');
const instance = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(wasmFile)),
  { './query_engine_bg.js': wasmGlue });
wasmGlue.__wbg_set_wasm(instance.exports);

// Database URL: Prisma's own parameters are for Prisma, not for node-postgres.
let url = process.env.DATABASE_URL;
if (process.env.OVERWRITE_DATASOURCES) url = JSON.parse(process.env.OVERWRITE_DATASOURCES)[0]?.url || url;
const [base, query = ''] = url.split('?');
const params = new URLSearchParams(query);
const schema = params.get('schema');
const pool = new pg.Pool({ max: Number(params.get('connection_limit') || 10),
  connectionTimeoutMillis: Number(params.get('pool_timeout') || 10) * 1000,
  options: schema ? `-c search_path="${schema}"` : undefined,
  connectionString: (() => {
    for (const k of ['connection_limit', 'pool_timeout', 'schema', 'pgbouncer', 'statement_cache_size',
      'socket_timeout', 'connect_timeout']) params.delete(k);
    return params.toString() ? `${base}?${params}` : base;
  })() });

// The native engine reads catalog types such as `name` as text; this adapter release rejects them.
const AS_TEXT = new Set([18, 19, 24, 194, 2202, 2203, 2204, 2205, 2206, 3734, 3769, 4089, 4096]);
const AS_TEXT_ARRAY = new Set([1002, 1003, 1008, 1023, 1024, 2207, 2208, 2209, 2210, 2211]);
const parseTextArray = pg.types.getTypeParser(1009);
const queryable = Object.getPrototypeOf(PrismaPg.prototype);
const performIO = queryable.performIO;
queryable.performIO = async function (q) {
  const res = await performIO.call(this, q);
  if (res.ok && res.value?.fields) res.value.fields.forEach((f, i) => {
    if (AS_TEXT.has(f.dataTypeID)) f.dataTypeID = 25;
    else if (AS_TEXT_ARRAY.has(f.dataTypeID)) {
      f.dataTypeID = 1009;
      for (const row of res.value.rows) if (typeof row[i] === 'string') row[i] = parseTextArray(row[i]);
    }
  });
  return res;
};

const datamodel = fs.readFileSync(process.env.PRISMA_DML_PATH, 'utf8');
const MODELS = {};  // model -> field -> type name (scalar or related model)
for (const [, model, body] of datamodel.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm)) {
  MODELS[model] = {};
  for (const line of body.split('\n')) {
    const f = line.trim().match(/^(\w+)\s+(\w+)/);
    if (f) MODELS[model][f[1]] = f[2];
  }
}
const engine = new wasmGlue.QueryEngine({ datamodel, logLevel: 'error', logQueries: false },
  (line) => process.stderr.write(line + '\n'), bindAdapter(new PrismaPg(pool)));

// ---- prisma-client-py's GraphQL requests -> JSON protocol ----
const ACTIONS = ['findUniqueOrThrow', 'findFirstOrThrow', 'findUnique', 'findFirst', 'findMany', 'createOne',
  'createManyAndReturn', 'createMany', 'updateOne', 'updateMany', 'upsertOne', 'deleteOne', 'deleteMany',
  'aggregate', 'groupBy'];

function value(node) {
  switch (node.kind) {
    case 'StringValue': case 'EnumValue': return node.value;
    case 'IntValue': {
      const n = Number(node.value);
      return Number.isSafeInteger(n) ? n : { $type: 'BigInt', value: node.value };
    }
    case 'FloatValue': return Number(node.value);
    case 'BooleanValue': return node.value;
    case 'NullValue': return null;
    case 'ListValue': return node.values.map(value);
    case 'ObjectValue': return Object.fromEntries(node.fields.map((f) => [f.name.value, value(f.value)]));
    default: throw new Error(`unsupported GraphQL value ${node.kind}`);
  }
}
const args = (field) => Object.fromEntries((field.arguments || []).map((a) => [a.name.value, value(a.value)]));
function selection(set) {
  const out = {};
  for (const f of set ? set.selections : []) {
    if (!f.selectionSet && !f.arguments?.length) { out[f.name.value] = true; continue; }
    out[f.name.value] = {
      selection: selection(f.selectionSet),
      ...(f.arguments?.length ? { arguments: args(f) } : {}),
    };
  }
  return out;
}

// GraphQL took Json and DateTime inputs as strings; the JSON protocol wants them tagged
// (an untagged string for a Json field would be stored as a JSON string).
const TAGGED = new Set(['Json', 'DateTime']);
const NOT_INPUT = new Set(['orderBy', 'by', 'distinct', 'select', 'include']);
const FILTERS = new Set(['equals', 'not', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'set']);
function tag(type, v) {
  if (typeof v === 'string') return { $type: type, value: v };
  if (Array.isArray(v)) return v.map((x) => tag(type, x));
  if (v && typeof v === 'object' && !('$type' in v)) {
    for (const k of Object.keys(v)) if (FILTERS.has(k)) v[k] = tag(type, v[k]);
  }
  return v;
}
function tagInputs(v, model) {
  if (Array.isArray(v)) return v.map((x) => tagInputs(x, model));
  if (!v || typeof v !== 'object') return v;
  for (const k of Object.keys(v)) {
    if (NOT_INPUT.has(k)) continue;
    const t = MODELS[model]?.[k];
    v[k] = TAGGED.has(t) ? tag(t, v[k]) : tagInputs(v[k], MODELS[t] ? t : model);
  }
  return v;
}

function translate(text) {
  const field = parse(text).definitions[0].selectionSet.selections[0];
  const name = field.name.value;
  const query = { arguments: args(field), selection: selection(field.selectionSet) };
  const alias = field.alias ? field.alias.value : name;
  if (name === 'queryRaw' || name === 'executeRaw') return { alias, json: { action: name, query } };
  const action = ACTIONS.find((a) => name.startsWith(a));
  if (!action) throw new Error(`unsupported operation ${name}`);
  const modelName = name.slice(action.length);
  query.arguments = tagInputs(query.arguments, modelName);
  return { alias, json: { modelName, action, query } };
}

// The JSON protocol tags DateTime/BigInt/Decimal/Bytes/Json outputs; GraphQL gave the plain strings.
function untag(v) {
  if (Array.isArray(v)) return v.map(untag);
  if (v && typeof v === 'object') {
    if (typeof v.$type === 'string' && Object.keys(v).length === 2 && 'value' in v) return v.value;
    for (const k of Object.keys(v)) v[k] = untag(v[k]);
  }
  return v;
}
function renamed(res, alias) {
  if (res?.data && typeof res.data === 'object') {
    const [key] = Object.keys(res.data);
    res.data = { [alias]: key === 'queryRaw' || key === 'executeRaw' ? res.data[key] : untag(res.data[key]) };
  }
  return res;
}

async function run(bodyText, txId) {
  const body = JSON.parse(bodyText);
  if (body.batch) {
    const ops = body.batch.map((q) => translate(q.query));
    const batch = { batch: ops.map((o) => o.json), transaction: body.transaction ? { isolationLevel: null } : null };
    const res = JSON.parse(await engine.query(JSON.stringify(batch), '{}', txId));
    if (res.batchResult) res.batchResult = res.batchResult.map((r, i) => renamed(r, ops[i].alias));
    return res;
  }
  const { alias, json } = translate(body.query);
  return renamed(JSON.parse(await engine.query(JSON.stringify(json), '{}', txId)), alias);
}

async function handle(request) {
  const chunks = [];
  for await (const c of request) chunks.push(c);
  const body = Buffer.concat(chunks).toString('utf8');
  const path = request.url.split('?')[0];
  if (path === '/status') return { status: 'ok' };
  if (path === '/metrics') return { counters: [], gauges: [], histograms: [] };
  if (path === '/') return run(body, request.headers['x-transaction-id']);
  if (path === '/transaction/start') {
    const o = JSON.parse(body || '{}');
    return engine.startTransaction(JSON.stringify({ max_wait: o.max_wait ?? 2000, timeout: o.timeout ?? 5000,
      isolation_level: o.isolation_level ?? null }), '{}');
  }
  const m = path.match(/^\/transaction\/([^/]+)\/(commit|rollback)$/);
  if (m) return m[2] === 'commit' ? engine.commitTransaction(m[1], '{}') : engine.rollbackTransaction(m[1], '{}');
  return { errors: [{ error: `not found: ${path}` }] };
}

const server = http.createServer(async (request, response) => {
  let out;
  try { out = await handle(request); } catch (e) {
    out = { errors: [{ error: String(e?.message || e), user_facing_error: { message: String(e?.message || e) } }] };
  }
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(typeof out === 'string' ? out : JSON.stringify(out));
});
await engine.connect('{}');
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1');
const shutdown = async () => {
  server.close();
  try { await engine.disconnect('{}'); await pool.end(); } catch {}
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
""".replace("__COMMIT__", ENGINE_COMMIT)


def _run(cmd: list[str], **kw) -> None:
    print("  $", " ".join(map(str, cmd)), flush=True)
    subprocess.run(cmd, check=True, **kw)


def venv_dir() -> Path:
    return Path(os.environ.get("LITELLM_VENV", "/work/litellm/venv"))


def _site_packages(venv: Path) -> Path:
    return next(venv.glob("lib/python3*/site-packages"))


def ensure_venv(venv: Path) -> None:
    """Create the venv and install litellm[proxy]==LITELLM_VERSION and prisma if they are missing."""
    site = next(venv.glob("lib/python3*/site-packages"), None)
    if (
        site
        and (site / f"litellm-{LITELLM_VERSION}.dist-info").exists()
        and (site / f"prisma-{PRISMA_PY_VERSION}.dist-info").exists()
    ):
        return
    t0 = time.monotonic()
    print(f"litellm: installing litellm[proxy]=={LITELLM_VERSION} into {venv} (about a minute)", flush=True)
    if not (venv / "bin" / "python").exists():
        _run(["python3", "-m", "venv", str(venv)])
    _run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            f"litellm[proxy]=={LITELLM_VERSION}",
            f"prisma=={PRISMA_PY_VERSION}",
        ]
    )
    print(f"litellm: installed in {time.monotonic() - t0:.0f}s", flush=True)


def _prisma_env(venv: Path, engine: Path) -> dict:
    env = dict(os.environ)
    env.update(
        PATH=f"{venv / 'bin'}:{env.get('PATH', '')}",
        PRISMA_QUERY_ENGINE_BINARY=str(engine),
        PRISMA_SCHEMA_ENGINE_BINARY=str(engine),
        PRISMA_QUERY_ENGINE_LIBRARY=str(engine),
        PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING="1",
        PRISMA_HIDE_UPDATE_MESSAGE="1",
        PRISMA_BINARY_CACHE_DIR=str(venv / "prisma-cli"),
    )
    return env


def ensure_engine(venv: Path) -> Path:
    """Install the wasm query engine and its Node stand-in beside the venv; return the executable."""
    home = venv / "prisma-wasm-engine"
    home.mkdir(parents=True, exist_ok=True)
    package = {"name": "litellm-query-engine", "private": True, "type": "module", "dependencies": ENGINE_PACKAGES}
    if not (home / "package.json").exists() or json.loads((home / "package.json").read_text()) != package:
        (home / "package.json").write_text(json.dumps(package, indent=2))
        t0 = time.monotonic()
        print("litellm: npm install of the Prisma wasm query engine", flush=True)
        _run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=home)
        print(f"litellm: engine installed in {time.monotonic() - t0:.0f}s", flush=True)
    (home / "query-engine.mjs").write_text(QUERY_ENGINE_JS)
    engine = home / "query-engine"
    engine.write_text(f'#!/bin/sh\nexec node "{home / "query-engine.mjs"}" "$@"\n')
    engine.chmod(0o755)
    return engine


def ensure_client(venv: Path, engine: Path) -> None:
    """Run `prisma generate` on LiteLLM's schema unless prisma-client-py was generated already."""
    site = _site_packages(venv)
    if (site / "prisma" / "models.py").exists():
        return
    t0 = time.monotonic()
    print("litellm: prisma generate (first run fetches the Prisma CLI from npm)", flush=True)
    _run(
        [str(venv / "bin" / "prisma"), "generate", "--schema", str(site / "litellm" / "proxy" / "schema.prisma")],
        env=_prisma_env(venv, engine),
        stdout=subprocess.DEVNULL,
    )
    print(f"litellm: generated in {time.monotonic() - t0:.0f}s", flush=True)


def libpq_url(url: str) -> str:
    """postgresql+psycopg://... (SQLAlchemy) -> postgresql://..."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+')[0]}://{rest}"


def migrate(url: str, venv: Path) -> None:
    """Create the database if missing and apply LiteLLM's migration SQL files unless its tables exist."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
        with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{conninfo_to_dict(url)["dbname"]}"')
        conn = psycopg.connect(url, autocommit=True)
    with conn:
        if conn.execute("""SELECT to_regclass('"LiteLLM_VerificationToken"')""").fetchone()[0]:
            return
        t0 = time.monotonic()
        folders = sorted(
            p
            for p in (_site_packages(venv) / "litellm_proxy_extras" / "migrations").iterdir()
            if (p / "migration.sql").exists()
        )
        for folder in folders:
            conn.execute((folder / "migration.sql").read_text())
        print(f"litellm: applied {len(folders)} migrations in {time.monotonic() - t0:.1f}s", flush=True)


def start_litellm(
    stub_port: int, data_dir: Path, database_url: str | None, max_budget: float = 1000.0, workers: int = 1
) -> tuple[subprocess.Popen, int, str]:
    """Start LiteLLM with model MODEL -> the stub; return (process, port, virtual key with max_budget).

    database_url: libpq or SQLAlchemy URL (created if missing); None: a fresh database as for smile.
    Keep workers=1: with more, uvicorn here kept restarting the slow-starting workers.
    """
    venv = venv_dir()
    ensure_venv(venv)
    engine = ensure_engine(venv)
    ensure_client(venv, engine)
    data_dir.mkdir(parents=True, exist_ok=True)
    url = libpq_url(database_url or bench_database_url(data_dir, f"litellm_{os.getpid()}"))
    migrate(url, venv)

    master = "sk-bench-" + secrets.token_hex(12)
    config = {  # JSON is YAML
        "model_list": [
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": "openai/stub-model",
                    "api_base": f"http://127.0.0.1:{stub_port}/v1",
                    "api_key": "sk-stub",
                },
                "model_info": {"input_cost_per_token": INPUT_COST, "output_cost_per_token": OUTPUT_COST},
            }
        ],
        "general_settings": {"master_key": master},
        "litellm_settings": {"telemetry": False},
    }
    (data_dir / "litellm_config.yaml").write_text(json.dumps(config, indent=2))
    env = _prisma_env(venv, engine)
    env.update(
        DATABASE_URL=url, DISABLE_SCHEMA_UPDATE="true", LITELLM_OFFLINE_MODE="true", LITELLM_LOCAL_MODEL_COST_MAP="true"
    )
    port = free_port()
    with open(data_dir / "litellm.log", "wb") as log:
        proc = subprocess.Popen(
            [
                str(venv / "bin" / "litellm"),
                "--config",
                str(data_dir / "litellm_config.yaml"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--num_workers",
                str(workers),
            ],
            cwd=data_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    t0 = time.monotonic()
    print(f"litellm: starting on port {port} (log {data_dir / 'litellm.log'})", flush=True)
    base = f"http://127.0.0.1:{port}"
    while True:
        if proc.poll() is not None or time.monotonic() - t0 > 180:
            stop_litellm(proc)
            tail = (data_dir / "litellm.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"LiteLLM did not become ready:\n{tail}")
        try:
            r = httpx.get(f"{base}/health/readiness", timeout=2)
            if r.status_code == 200 and r.json().get("db") == "connected":
                break
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    print(f"litellm: ready in {time.monotonic() - t0:.0f}s", flush=True)
    r = httpx.post(
        f"{base}/key/generate",
        headers={"Authorization": f"Bearer {master}"},
        json={"models": [MODEL], "max_budget": max_budget},
        timeout=30,
    )
    r.raise_for_status()
    return proc, port, r.json()["key"]


def stop_litellm(proc: subprocess.Popen) -> None:
    """Stop LiteLLM and what it started (the query engine) in its process group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # LiteLLM first: it stops its query engine itself
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def key_spend(port: int, key: str, master: str) -> float:
    r = httpx.get(
        f"http://127.0.0.1:{port}/key/info",
        params={"key": key},
        headers={"Authorization": f"Bearer {master}"},
        timeout=10,
    )
    r.raise_for_status()
    return float(r.json()["info"]["spend"] or 0.0)


def main() -> None:
    from hub_gateway import chat_body, start_stub

    data_dir = DEFAULT_DATA_DIR / "litellm"
    data_dir.mkdir(parents=True, exist_ok=True)
    stub_port = free_port()
    stub = start_stub(stub_port, data_dir)
    proc = None
    try:
        proc, port, key = start_litellm(stub_port, data_dir, os.environ.get("LITELLM_DATABASE_URL"), max_budget=1.0)
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            json=chat_body(MODEL, False),
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        r.raise_for_status()
        body = r.json()
        print("reply:", body["choices"][0]["message"]["content"], "| usage:", body["usage"])
        expected = body["usage"]["prompt_tokens"] * INPUT_COST + body["usage"]["completion_tokens"] * OUTPUT_COST
        master = json.loads((data_dir / "litellm_config.yaml").read_text())["general_settings"]["master_key"]
        t0 = time.monotonic()
        spend = 0.0
        while spend <= 0 and time.monotonic() - t0 < 60:  # LiteLLM writes spend to the database in batches
            time.sleep(1)
            spend = key_spend(port, key, master)
        print(f"key spend: {spend:.8f} $ (expected {expected:.8f} $, visible after {time.monotonic() - t0:.0f}s)")
    finally:
        if proc is not None:
            stop_litellm(proc)
        stop(stub)


if __name__ == "__main__":
    main()
