"""Operational endpoints: liveness, readiness, status, migrations, Prometheus metrics.

/healthz and /readyz are public (load balancers). /metrics, /api/v1/status and /api/v1/migrations
tell more than a stranger should know: in prod they answer only a request that carries
`Authorization: Bearer $SMILE_METRICS_TOKEN` or comes from an address in SMILE_METRICS_ALLOW_IPS.
In dev they stay open unless one of those settings is set.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from procrastinate.jobs import Status as JobStatus
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from smile import __version__
from smile.kit import migrate, runtime
from smile.kit.errors import Forbidden, Unauthorized, responses
from smile.kit.observability import DB_POOL_IN_USE, DB_POOL_SIZE, JOBS

router = APIRouter(tags=["system"])


def operator(request: Request) -> None:
    """Let in the operator's tools: the metrics token or an allowed address (always, in dev with neither set)."""
    settings = runtime.current().settings
    networks = settings.metrics_networks
    if settings.is_dev and not settings.metrics_token and not networks:
        return
    if networks and request.client:
        try:
            address = ipaddress.ip_address(request.client.host)
        except ValueError:
            address = None
        if address is not None and any(address in network for network in networks):
            return
    if settings.metrics_token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), settings.metrics_token.encode()):
            return
        raise Unauthorized("Send the operations token: Authorization: Bearer <SMILE_METRICS_TOKEN>.")
    if networks:
        raise Forbidden("Not reachable from this address (see SMILE_METRICS_ALLOW_IPS).")
    raise Forbidden(
        "Operations endpoints are closed in production until SMILE_METRICS_TOKEN or SMILE_METRICS_ALLOW_IPS is set."
    )


OPERATOR = {"dependencies": [Depends(operator)], "responses": responses(401, 403)}


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    database: bool
    migrations_current: bool
    pending_migrations: list[str] = []


class Status(BaseModel):
    version: str
    env: str
    database: str
    database_version: str
    redis: bool
    job_queue_depth: int
    jobs_failed: int
    modules: list[str]


class Revision(BaseModel):
    revision: str
    message: str | None
    applied: bool


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, responses={503: {"model": Ready}})
async def readyz() -> Response:
    rt = runtime.current()
    try:
        async with rt.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        pending = await asyncio.to_thread(migrate.pending, rt.database_url)
    except Exception:  # noqa: BLE001 - any failure means not ready
        return JSONResponse(
            Ready(status="unavailable", database=False, migrations_current=False).model_dump(), status_code=503
        )
    body = Ready(
        status="ok" if not pending else "migrations_pending",
        database=True,
        migrations_current=not pending,
        pending_migrations=pending,
    )
    return JSONResponse(body.model_dump(), status_code=200 if not pending else 503)


async def _job_counts() -> dict[str, int]:
    async with runtime.current().db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"))
        found = dict(rows.all())
    return {status.value: found.get(status.value, 0) for status in JobStatus}  # a drained status reads 0


@router.get("/api/v1/status", response_model=Status, **OPERATOR)
async def status(request: Request) -> Status:
    rt = runtime.current()
    async with rt.db.engine.connect() as conn:
        version = (await conn.execute(text("SHOW server_version"))).scalar_one()
    counts = await _job_counts()
    return Status(
        version=__version__,
        env=rt.settings.env,
        database="external" if rt.settings.database_url else "embedded",
        database_version=version,
        redis=bool(rt.settings.redis_url),
        job_queue_depth=counts.get("todo", 0) + counts.get("doing", 0),
        jobs_failed=counts.get("failed", 0),
        modules=rt.settings.module_list,
    )


@router.get("/api/v1/migrations", response_model=list[Revision], **OPERATOR)
async def migrations() -> list[Revision]:
    rows = await asyncio.to_thread(migrate.history, runtime.current().database_url)
    return [Revision(**row) for row in rows]


@router.get("/metrics", include_in_schema=False, **OPERATOR)
async def metrics() -> Response:
    rt = runtime.current()
    pool = rt.db.engine.pool
    DB_POOL_IN_USE.set(pool.checkedout())
    DB_POOL_SIZE.set(pool.size())
    for status_name, count in (await _job_counts()).items():
        JOBS.labels(status_name).set(count)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
