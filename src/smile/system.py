"""Operational endpoints: liveness, readiness, status, migrations, Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from smile import __version__
from smile.kit import migrate, runtime
from smile.kit.observability import DB_POOL_IN_USE, DB_POOL_SIZE, JOBS

router = APIRouter(tags=["system"])


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
        return JSONResponse(Ready(status="unavailable", database=False, migrations_current=False).model_dump(),
                            status_code=503)
    body = Ready(status="ok" if not pending else "migrations_pending", database=True,
                 migrations_current=not pending, pending_migrations=pending)
    return JSONResponse(body.model_dump(), status_code=200 if not pending else 503)


async def _job_counts() -> dict[str, int]:
    async with runtime.current().db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"))
        return {status: count for status, count in rows}


@router.get("/api/v1/status", response_model=Status)
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


@router.get("/api/v1/migrations", response_model=list[Revision])
async def migrations() -> list[Revision]:
    rows = await asyncio.to_thread(migrate.history, runtime.current().database_url)
    return [Revision(**row) for row in rows]


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    rt = runtime.current()
    pool = rt.db.engine.pool
    DB_POOL_IN_USE.set(pool.checkedout())
    DB_POOL_SIZE.set(pool.size())
    for status_name, count in (await _job_counts()).items():
        JOBS.labels(status_name).set(count)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
