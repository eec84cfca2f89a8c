"""Admin finance JSON API: the financial report (and its CSV) and the journal browser. Admins with two-factor."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from smile.billing.reports import journal, service
from smile.billing.reports.schemas import JournalDetail, JournalTransaction, Period, Report
from smile.identity.auth import DB, AdminUser
from smile.kit import runtime
from smile.kit.errors import ErrorBody
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from smile.kit.requests import DBRoute

ERRORS: dict[int | str, dict] = {
    401: {"model": ErrorBody, "description": "Not signed in"},
    403: {"model": ErrorBody, "description": "Admin without two-factor (`mfa_enrolment_required`, `mfa_required`)"},
    404: {"model": ErrorBody, "description": "Not an admin, or no such transaction"},
    422: {"model": ErrorBody, "description": "Bad filter (e.g. since after until, too many periods)"},
}

router = APIRouter(prefix="/api/v1/admin/finance", route_class=DBRoute, tags=["admin finance"], responses=ERRORS)

Text = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Since = Annotated[dt.date | None, Query(description="First day (UTC), widened to the start of its period")]
Until = Annotated[dt.date | None, Query(description="Last day (UTC, inclusive), widened to the end of its period")]


async def _report(db, period: str, since, until) -> Report:
    return await service.report(
        db, currency=runtime.current().settings.currency, period=period, since=since, until=until
    )


@router.get("/report", response_model=Report, summary="GMV, revenue, fees, refunds and payouts by period")
async def report(db: DB, admin: AdminUser, period: Period = "day", since: Since = None, until: Until = None) -> Report:
    """Per period (UTC day, ISO week or month): GMV (paid payments + sales paid with credits), revenue, fees,
    refunds, payouts paid and credits spent; with totals and the balances outstanding now. Without `since`,
    the last 30 days, 12 weeks or 12 months up to `until` (default today)."""
    return await _report(db, period, since, until)


@router.get(
    "/report.csv",
    summary="The financial report as CSV",
    responses={200: {"content": {"text/csv": {}}, "description": "One line per period and a total"}},
)
async def report_csv(
    db: DB, admin: AdminUser, period: Period = "day", since: Since = None, until: Until = None
) -> Response:
    rep = await _report(db, period, since, until)
    name = f"smile-finance-{rep.period}-{rep.since}-{rep.until}.csv"
    return Response(
        service.to_csv(rep),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/journal", response_model=Page[JournalTransaction], summary="Ledger transactions, newest first")
async def list_journal(
    db: DB,
    admin: AdminUser,
    kind: Text = None,
    user: Text = None,
    account: Text = None,
    reference: Text = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    cursor: Text = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[JournalTransaction]:
    """`user`: username or id (transactions touching their accounts); `account`: a ledger account id;
    `reference`: a reference id, `type:id`, or an idempotency key; `since`/`until`: inclusive UTC days."""
    return await journal.journal(
        db,
        kind=kind,
        user=user,
        account=account,
        reference=reference,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )


@router.get("/journal/{transaction_id}", response_model=JournalDetail, summary="One ledger transaction")
async def get_transaction(transaction_id: uuid.UUID, db: DB, admin: AdminUser) -> JournalDetail:
    return await journal.transaction(db, transaction_id)
