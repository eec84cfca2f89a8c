"""Admin finance pages: the financial report with charts and CSV, the journal browser, one transaction."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from smile.billing.reports import journal, service
from smile.identity.auth import DB, AdminUser
from smile.kit import runtime
from smile.kit.errors import Invalid
from smile.kit.money import decimals, money
from smile.kit.requests import DBRoute
from smile.web.render import render

PLAIN = functools.partial(money, plain=True)  # the entries' currency has its own column
router = APIRouter(route_class=DBRoute, include_in_schema=False)

PAGE_SIZE = 25


def _day(name: str, value: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name} must be a date like 2026-01-31.", fields={name: "not a date"}) from None


def _period(value: str) -> str:
    if value not in service.PERIODS:
        raise Invalid("period must be day, week or month.", fields={"period": "day, week or month"})
    return value


def _partial(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


def _money(currency: str):
    return lambda amount: money(amount, currency, plain=True)  # the currency is written beside it


@router.get("/admin/finance", response_class=HTMLResponse)
async def report_page(
    request: Request, db: DB, admin: AdminUser, period: str = "day", since: str = "", until: str = ""
) -> HTMLResponse:
    currency = runtime.current().settings.currency
    rep = await service.report(
        db, currency=currency, period=_period(period), since=_day("since", since), until=_day("until", until)
    )
    query = urlencode({"period": rep.period, "since": rep.since.isoformat(), "until": rep.until.isoformat()})
    chart = {
        "labels": [r.start.isoformat() for r in rep.rows],
        "decimals": decimals(currency),
        "currency": currency,
        **{
            name: [getattr(r, name) for r in rep.rows] for name in ("gmv", "revenue", "fees", "refunds", "payouts_paid")
        },
    }
    return render(
        request,
        "billing/reports/report.html",
        {
            "report": rep,
            "chart": chart,
            "csv_url": f"/admin/finance/report.csv?{query}",
            "money": _money(currency),
            "periods": service.PERIODS,
        },
    )


@router.get("/admin/finance/report.csv")
async def report_csv(db: DB, admin: AdminUser, period: str = "day", since: str = "", until: str = "") -> Response:
    rep = await service.report(
        db,
        currency=runtime.current().settings.currency,
        period=_period(period),
        since=_day("since", since),
        until=_day("until", until),
    )
    name = f"smile-finance-{rep.period}-{rep.since}-{rep.until}.csv"
    return Response(
        service.to_csv(rep),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/admin/finance/journal", response_class=HTMLResponse)
async def journal_page(
    request: Request,
    db: DB,
    admin: AdminUser,
    kind: str = "",
    user: str = "",
    account: str = "",
    reference: str = "",
    since: str = "",
    until: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    filters = {
        "kind": kind.strip()[:40],
        "user": user.strip()[:200],
        "account": account.strip()[:40],
        "reference": reference.strip()[:200],
        "since": since.strip()[:10],
        "until": until.strip()[:10],
    }
    page = await journal.journal(
        db,
        kind=filters["kind"] or None,
        user=filters["user"],
        account=filters["account"],
        reference=filters["reference"],
        since=_day("since", filters["since"]),
        until=_day("until", filters["until"]),
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    more = None
    if page.next_cursor:
        more = "/admin/finance/journal?" + urlencode(
            {**{k: v for k, v in filters.items() if v}, "cursor": page.next_cursor}
        )
    context = {"page": page, "filters": filters, "first_page": not cursor, "more_url": more, "money": PLAIN}
    if _partial(request):
        return render(request, "billing/reports/_journal_rows.html", context)
    return render(request, "billing/reports/journal.html", context | {"kinds": await journal.kinds(db)})


@router.get("/admin/finance/journal/{transaction_id}", response_class=HTMLResponse)
async def transaction_page(transaction_id: uuid.UUID, request: Request, db: DB, admin: AdminUser) -> HTMLResponse:
    tx = await journal.transaction(db, transaction_id)
    return render(request, "billing/reports/transaction.html", {"tx": tx, "money": PLAIN})
