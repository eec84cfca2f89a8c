"""hub: the signed-in user's AI usage — the per-request log, daily aggregates, CSV export, and /hub/usage.

The JSON routes also take an API key with the `usage` scope (`Bearer sk-smile-...`): it reads its owner's usage.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Date, cast, func, select

from smile.ai.models import USAGE_STATUSES, AiUsage
from smile.hub.auth import ApiKeyPrincipal, key_or_user
from smile.identity.auth import DB, CurrentUser, Principal
from smile.kit.errors import Invalid, responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, keyset, page_of
from smile.kit.requests import DBRoute
from smile.web.render import render

router = APIRouter(route_class=DBRoute, tags=["hub"])
Status = Literal[USAGE_STATUSES]  # type: ignore[valid-type]
CSV_ROWS = 100_000
Reader = Annotated[ApiKeyPrincipal | Principal, Depends(key_or_user("usage"))]


class UsageOut(BaseModel):
    id: uuid.UUID
    created_at: dt.datetime
    model: str
    served_model: str | None
    provider: str | None
    api_key_id: uuid.UUID | None
    stream: bool
    status: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    credits: int
    latency_ms: int | None
    first_byte_ms: int | None
    attempts: int
    error: str | None


class DailyOut(BaseModel):
    day: dt.date
    model: str
    requests: int
    input_tokens: int
    output_tokens: int
    credits: int


def _filters(
    user_id: uuid.UUID,
    model: str | None,
    status: str | None,
    key_id: uuid.UUID | None,
    since: dt.date | None,
    until: dt.date | None,
) -> list:
    if since and until and since > until:
        raise Invalid("`from` must not be after `to`.", fields={"from": "after to"})
    where = [AiUsage.user_id == user_id]
    if model:
        where.append(AiUsage.model == model)
    if status:
        where.append(AiUsage.status == status)
    if key_id:
        where.append(AiUsage.api_key_id == key_id)
    if since:
        where.append(AiUsage.created_at >= dt.datetime.combine(since, dt.time(), dt.UTC))
    if until:
        where.append(AiUsage.created_at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC))
    return where


class Filters:
    """Query filters shared by the log, the aggregates and the CSV export (dates are UTC days, inclusive)."""

    def __init__(
        self,
        model: Annotated[str | None, Query(max_length=100)] = None,
        status: Status | None = None,
        key_id: uuid.UUID | None = None,
        since: Annotated[dt.date | None, Query(alias="from")] = None,
        until: Annotated[dt.date | None, Query(alias="to")] = None,
    ) -> None:
        self.model, self.status, self.key_id, self.since, self.until = model, status, key_id, since, until

    def where(self, user_id: uuid.UUID) -> list:
        return _filters(user_id, self.model, self.status, self.key_id, self.since, self.until)


FilterBy = Annotated[Filters, Depends()]


async def log_page(db, user_id: uuid.UUID, f: Filters, cursor: str | None, limit: int) -> tuple[list, str | None]:
    if cursor:
        decode_cursor(cursor)
    rows = list(await db.scalars(keyset(select(AiUsage).where(*f.where(user_id)), AiUsage.id, cursor, limit)))
    rows, next_cursor = page_of(rows, limit)
    return [UsageOut.model_validate(r, from_attributes=True) for r in rows], next_cursor


async def daily(db, user_id: uuid.UUID, f: Filters) -> list[DailyOut]:
    day = cast(func.timezone("UTC", AiUsage.created_at), Date).label("day")
    stmt = (
        select(
            day,
            AiUsage.model,
            func.count().label("requests"),
            func.sum(AiUsage.input_tokens),
            func.sum(AiUsage.output_tokens),
            func.sum(AiUsage.credits),
        )
        .where(*f.where(user_id))
        .group_by(day, AiUsage.model)
        .order_by(day, AiUsage.model)
    )
    return [
        DailyOut(
            day=r[0], model=r[1], requests=r[2], input_tokens=r[3] or 0, output_tokens=r[4] or 0, credits=r[5] or 0
        )
        for r in await db.execute(stmt)
    ]


@router.get("/api/v1/hub/usage", response_model=Page[UsageOut], responses=responses(401, 403, 422))
async def usage_log(
    me: Reader, db: DB, f: FilterBy, cursor: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
) -> Page[UsageOut]:
    """Your AI requests, newest first; filter by `model`, `status`, `key_id`, `from` / `to` (UTC dates)."""
    items, next_cursor = await log_page(db, me.id, f, cursor, limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/api/v1/hub/usage/daily", response_model=list[DailyOut], responses=responses(401, 403, 422))
async def usage_daily(me: Reader, db: DB, f: FilterBy) -> list[DailyOut]:
    """Requests, tokens and credits per UTC day and model (same filters as the log)."""
    return await daily(db, me.id, f)


@router.get(
    "/api/v1/hub/usage.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "One line per request"}, **responses(401, 403, 422)},
)
async def usage_csv(me: Reader, db: DB, f: FilterBy) -> StreamingResponse:
    """The log as CSV (newest first, at most 100,000 rows)."""
    rows = await db.scalars(select(AiUsage).where(*f.where(me.id)).order_by(AiUsage.id.desc()).limit(CSV_ROWS))
    out = io.StringIO()
    fields = list(UsageOut.model_fields)
    writer = csv.writer(out)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([getattr(row, name) if getattr(row, name) is not None else "" for name in fields])
    return StreamingResponse(
        iter([out.getvalue()]),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="smile-usage.csv"'},
    )


def chart_data(days: list[DailyOut]) -> dict:
    labels = sorted({d.day.isoformat() for d in days})
    models = sorted({d.model for d in days})
    index = {label: i for i, label in enumerate(labels)}
    credits = {m: [0] * len(labels) for m in models}
    requests = [0] * len(labels)
    for d in days:
        credits[d.model][index[d.day.isoformat()]] += d.credits
        requests[index[d.day.isoformat()]] += d.requests
    return {"labels": labels, "credits": [{"label": m, "data": credits[m]} for m in models], "requests": requests}


@router.get("/hub/usage", response_class=HTMLResponse, include_in_schema=False)
async def usage_page(request: Request, me: CurrentUser, db: DB, f: FilterBy, cursor: str | None = None) -> HTMLResponse:
    if f.since is None and f.until is None:
        f.since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=29)
    days = await daily(db, me.id, f)
    items, next_cursor = await log_page(db, me.id, f, cursor, 50)
    query = "&".join(
        f"{k}={v}"
        for k, v in (("model", f.model), ("status", f.status), ("key_id", f.key_id), ("from", f.since), ("to", f.until))
        if v
    )
    return render(
        request,
        "hub/usage.html",
        {
            "items": items,
            "chart": json.dumps(chart_data(days)).replace("<", "\\u003c"),
            "filters": f,
            "statuses": USAGE_STATUSES,
            "totals": {
                "requests": sum(d.requests for d in days),
                "credits": sum(d.credits for d in days),
                "tokens": sum(d.input_tokens + d.output_tokens for d in days),
            },
            "csv_url": f"/api/v1/hub/usage.csv?{query}",
            "more_url": f"/hub/usage?{query}&cursor={next_cursor}" if next_cursor else None,
        },
    )
