"""The admin financial report: GMV, revenue, fees, refunds and payouts by period, and balances outstanding now.

Everything is read from the ledger (transactions by kind, entries by account purpose) and the payments
table, so the report adds up exactly like the books. Periods are UTC days, ISO weeks (Monday) or months.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.ledger import service as ledger
from smile.billing.ledger.models import CREDITS
from smile.billing.reports.schemas import Outstanding, PeriodRow, Report, Totals
from smile.kit.db import utcnow
from smile.kit.errors import Invalid
from smile.kit.money import money

PERIODS = ("day", "week", "month")
DEFAULT_SPAN = {"day": 30, "week": 12, "month": 12}  # periods shown when `since` is not given
MAX_PERIODS = 400
EARLIEST, LATEST = dt.date(1970, 1, 1), dt.date(9999, 1, 1)  # dates outside are refused (and cannot overflow)
# Transactions that give money back to buyers: refunds posted by kind, and reversals of what buyers paid.
REFUND_KINDS = ("refund", "sale_refund", "credit_refund", "subscription_refund")
BUYER_PAYMENT_KINDS = ("sale", "credit_purchase", "subscription_payment")


def floor(day: dt.date, period: str) -> dt.date:
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def following(start: dt.date, period: str) -> dt.date:
    if period == "week":
        return start + dt.timedelta(days=7)
    if period == "month":
        return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start + dt.timedelta(days=1)


def periods(period: str, since: dt.date | None, until: dt.date | None, today: dt.date | None = None) -> list[dt.date]:
    """Start days of the periods covering since..until (both inclusive, widened to whole periods)."""
    if period not in PERIODS:
        raise Invalid("period must be day, week or month.", fields={"period": "day, week or month"})
    check_range(since=since, until=until)
    last = floor(until or today or utcnow().date(), period)
    if since is None:
        first = last
        for _ in range(DEFAULT_SPAN[period] - 1):
            first = floor(first - dt.timedelta(days=1), period)
    else:
        first = floor(since, period)
    if first > last:
        raise Invalid("since must be on or before until.", fields={"since": "after until"})
    starts = [first]
    while starts[-1] < last:
        starts.append(following(starts[-1], period))
        if len(starts) > MAX_PERIODS:
            raise Invalid(
                f"That range has more than {MAX_PERIODS} periods; choose a longer period or a shorter range.",
                fields={"since": "range too long"},
            )
    return starts


def check_range(**days: dt.date | None) -> None:
    for name, day in days.items():
        if day is not None and not EARLIEST <= day < LATEST:
            raise Invalid(f"{name} must be between {EARLIEST} and {LATEST}.", fields={name: "out of range"})


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


LEDGER_SQL = text("""
    SELECT date_trunc(:period, t.created_at AT TIME ZONE 'UTC')::date AS start,
      COALESCE(SUM(e.amount) FILTER (WHERE a.purpose = :revenue AND a.currency = :cur), 0)::bigint AS revenue,
      COALESCE(SUM(e.amount) FILTER (WHERE a.purpose = :fees AND a.currency = :cur), 0)::bigint AS fees,
      COALESCE(-SUM(e.amount) FILTER (WHERE t.kind = 'sale' AND a.purpose = :issuance AND a.currency = :cur
                                      AND e.amount < 0), 0)::bigint AS credit_sales,
      COALESCE(SUM(e.amount) FILTER (WHERE (t.kind = ANY(:refund_kinds) OR t.kind LIKE '%\\_refund'
                                            OR o.kind = ANY(:buyer_kinds))
                                       AND a.purpose IN (:clearing, :issuance) AND a.currency = :cur
                                       AND e.amount > 0), 0)::bigint AS refunds,
      COALESCE(-SUM(e.amount) FILTER (WHERE t.kind = 'payout_paid' AND a.purpose = :payouts
                                      AND a.currency = :cur), 0)::bigint AS payouts_paid,
      COALESCE(SUM(e.amount) FILTER (WHERE a.purpose = :revenue AND a.currency = :crd), 0)::bigint AS credits_spent
    FROM ledger_transactions t
    LEFT JOIN ledger_transactions o ON o.id = t.reverses_id
    JOIN ledger_entries e ON e.transaction_id = t.id
    JOIN ledger_accounts a ON a.id = e.account_id AND a.owner_id IS NULL
    WHERE t.created_at >= :start AND t.created_at < :end
    GROUP BY 1""")

PAYMENTS_SQL = text("""
    SELECT date_trunc(:period, paid_at AT TIME ZONE 'UTC')::date AS start, SUM(amount)::bigint AS amount,
           COUNT(*) AS count
    FROM payments
    WHERE paid_at >= :start AND paid_at < :end AND currency = :cur
      AND status IN ('paid', 'refunded', 'partially_refunded')
      -- a checkout that starts a free trial records the plan price but collects nothing
      AND NOT (metadata->>'kind' = 'start' AND COALESCE((metadata->>'trial_days')::int, 0) > 0)
    GROUP BY 1""")

OUTSTANDING_SQL = text("""
    SELECT
      COALESCE(SUM(balance) FILTER (WHERE owner_id IS NOT NULL AND purpose = :wallet AND currency = :crd), 0)::bigint,
      COALESCE(SUM(held) FILTER (WHERE owner_id IS NOT NULL AND purpose = :wallet AND currency = :crd), 0)::bigint,
      COALESCE(SUM(balance) FILTER (WHERE owner_id IS NOT NULL AND purpose = :escrow AND currency = :cur), 0)::bigint,
      COALESCE(SUM(balance) FILTER (WHERE owner_id IS NOT NULL AND purpose = :earnings AND currency = :cur), 0)::bigint,
      COALESCE(SUM(balance) FILTER (WHERE owner_id IS NULL AND purpose = :payouts AND currency = :cur), 0)::bigint
    FROM ledger_accounts""")


async def outstanding(db: AsyncSession, currency: str) -> Outstanding:
    row = (
        await db.execute(
            OUTSTANDING_SQL,
            {
                "wallet": ledger.WALLET,
                "escrow": ledger.ESCROW,
                "earnings": ledger.EARNINGS,
                "payouts": ledger.PAYOUTS,
                "crd": CREDITS,
                "cur": currency,
            },
        )
    ).one()
    return Outstanding(
        wallet_credits=row[0],
        wallet_credits_held=row[1],
        escrow=row[2],
        earnings=row[3],
        payouts_in_transit=row[4],
        as_of=utcnow(),
    )


async def report(
    db: AsyncSession, *, currency: str, period: str = "day", since: dt.date | None = None, until: dt.date | None = None
) -> Report:
    starts = periods(period, since, until)
    end = following(starts[-1], period)
    params = {"period": period, "start": _midnight(starts[0]), "end": _midnight(end), "cur": currency}
    by_start = {s: PeriodRow(start=s, end=following(s, period)) for s in starts}
    for r in await db.execute(
        LEDGER_SQL,
        params
        | {
            "revenue": ledger.REVENUE,
            "fees": ledger.FEES,
            "issuance": ledger.ISSUANCE,
            "clearing": ledger.CLEARING,
            "payouts": ledger.PAYOUTS,
            "crd": CREDITS,
            "refund_kinds": list(REFUND_KINDS),
            "buyer_kinds": list(BUYER_PAYMENT_KINDS),
        },
    ):
        by_start[r.start] = by_start[r.start].model_copy(
            update={
                "revenue": r.revenue,
                "fees": r.fees,
                "credit_sales": r.credit_sales,
                "refunds": r.refunds,
                "payouts_paid": r.payouts_paid,
                "credits_spent": r.credits_spent,
            }
        )
    for r in await db.execute(PAYMENTS_SQL, params):
        by_start[r.start] = by_start[r.start].model_copy(
            update={"paid_payments": r.amount, "paid_payments_count": r.count}
        )
    rows = [row.model_copy(update={"gmv": row.paid_payments + row.credit_sales}) for row in by_start.values()]
    totals = Totals(**{name: sum(getattr(r, name) for r in rows) for name in Totals.model_fields})
    return Report(
        currency=currency,
        credits_currency=CREDITS,
        period=period,
        since=starts[0],
        until=end - dt.timedelta(days=1),
        rows=rows,
        totals=totals,
        outstanding=await outstanding(db, currency),
    )


CSV_COLUMNS = (
    "gmv",
    "paid_payments",
    "paid_payments_count",
    "credit_sales",
    "revenue",
    "fees",
    "refunds",
    "payouts_paid",
    "credits_spent",
)
MONEY_COLUMNS = frozenset({"gmv", "paid_payments", "credit_sales", "revenue", "fees", "refunds", "payouts_paid"})


def to_csv(rep: Report) -> str:
    """One line per period and a total line; money as exact decimals of the report's currency."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["period_start", "period_end", "currency", *CSV_COLUMNS])

    def cells(row) -> list[str]:
        return [
            money(getattr(row, c), rep.currency, plain=True) if c in MONEY_COLUMNS else str(getattr(row, c))
            for c in CSV_COLUMNS
        ]

    for row in rep.rows:
        writer.writerow(
            [row.start.isoformat(), (row.end - dt.timedelta(days=1)).isoformat(), rep.currency, *cells(row)]
        )
    writer.writerow(["total", "", rep.currency, *cells(rep.totals)])
    return out.getvalue()
