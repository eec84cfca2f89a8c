"""The admin financial report over real HTTP: figures by day, week and month from known books, CSV, access."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from tests.admin.helpers import make_admin
from tests.billing.reports import books
from tests.billing.reports.books import D1, D2, D3

REPORT = "/api/v1/admin/finance/report"
HTML = {"Accept": "text/html"}


@pytest.fixture
def admin(signup, db):
    return make_admin(signup, db)


@pytest.fixture
def posted(db, ledger_db, make_user):
    return books.build(db, ledger_db, make_user("buyer"), make_user("seller"))


def test_daily_figures_totals_and_outstanding_balances(admin, posted):
    r = admin.get(REPORT, params={"period": "day", "since": str(D1), "until": str(D3)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["currency"] == "USD" and body["credits_currency"] == "CRD"
    assert (body["since"], body["until"]) == (str(D1), str(D3))
    assert len(body["rows"]) == 9  # every day of the range, empty ones included
    rows = {row["start"]: row for row in body["rows"]}
    fields = (
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

    def figures(day):
        return tuple(rows[str(day)][f] for f in fields)

    assert figures(D1) == (3000, 3000, 2, 0, 2000, 300, 0, 0, 0)
    assert figures(D2) == (500, 0, 0, 500, 0, 150, 0, 0, 20)  # the EUR payment is not in USD figures
    assert figures(D3) == (999, 999, 1, 0, 800, -300, 1199, 300, 0)
    assert rows["2025-03-06"]["gmv"] == 0 and rows["2025-03-06"]["end"] == "2025-03-07"
    assert tuple(body["totals"][f] for f in fields) == (4499, 3999, 3, 500, 2800, 150, 1199, 300, 20)
    owed = body["outstanding"]
    assert (owed["wallet_credits"], owed["wallet_credits_held"]) == (130, 10)
    assert (owed["escrow"], owed["earnings"], owed["payouts_in_transit"]) == (0, 0, 50)


def test_weeks_and_months_widen_the_range_to_whole_periods(admin, posted):
    weeks = admin.get(REPORT, params={"period": "week", "since": "2025-03-05", "until": str(D3)}).json()
    assert (weeks["since"], weeks["until"]) == ("2025-03-03", "2025-03-16")
    assert [(r["start"], r["gmv"], r["refunds"]) for r in weeks["rows"]] == [
        ("2025-03-03", 3500, 0),
        ("2025-03-10", 999, 1199),
    ]
    months = admin.get(REPORT, params={"period": "month", "since": "2025-02-14", "until": "2025-04-01"}).json()
    assert [(r["start"], r["gmv"], r["revenue"]) for r in months["rows"]] == [
        ("2025-02-01", 0, 0),
        ("2025-03-01", 4499, 2800),
        ("2025-04-01", 0, 0),
    ]
    assert months["until"] == "2025-04-30"


def test_default_range_is_the_last_thirty_days(admin):
    body = admin.get(REPORT).json()
    assert body["period"] == "day" and len(body["rows"]) == 30 and body["totals"]["gmv"] == 0
    assert len(admin.get(REPORT, params={"period": "month"}).json()["rows"]) == 12


def test_csv_export_has_one_line_per_period_and_a_total(admin, posted):
    r = admin.get(REPORT + ".csv", params={"period": "week", "since": str(D1), "until": str(D3)})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="smile-finance-week-2025-03-03-2025-03-16.csv"' in r.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(r.text)))
    assert lines == [
        [
            "period_start",
            "period_end",
            "currency",
            "gmv",
            "paid_payments",
            "paid_payments_count",
            "credit_sales",
            "revenue",
            "fees",
            "refunds",
            "payouts_paid",
            "credits_spent",
        ],
        ["2025-03-03", "2025-03-09", "USD", "35.00", "30.00", "2", "5.00", "20.00", "4.50", "0.00", "0.00", "20"],
        ["2025-03-10", "2025-03-16", "USD", "9.99", "9.99", "1", "0.00", "8.00", "-3.00", "11.99", "3.00", "0"],
        ["total", "", "USD", "44.99", "39.99", "3", "5.00", "28.00", "1.50", "11.99", "3.00", "20"],
    ]


def test_bad_ranges_are_clear_422s(admin):
    cases = [
        ({"since": "2025-03-10", "until": "2025-03-01"}, "since"),
        ({"period": "year"}, "period"),
        ({"since": "2020-01-01", "until": "2025-01-01"}, "since"),  # > 400 days
        ({"since": "yesterday"}, "since"),
        ({"period": "month", "until": "9999-12-31"}, "until"),  # would overflow the calendar
        ({"since": "0001-01-01", "until": "0001-01-02"}, "since"),
    ]
    for params, field in cases:
        r = admin.get(REPORT, params=params)
        assert r.status_code == 422, (params, r.text)
        assert field in r.json()["fields"], r.json()
    assert admin.get(REPORT, params={"period": "week", "since": "2020-01-01", "until": "2025-01-01"}).status_code == 200


def test_only_admins_with_two_factor_see_the_books(signup, client, db):
    person = signup()
    for url in (REPORT, REPORT + ".csv", "/api/v1/admin/finance/journal"):
        r = person.get(url)
        assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert person.get("/admin/finance", headers=HTML).status_code == 404
    assert client.get(REPORT).status_code == 401
    no_mfa = make_admin(signup, db, mfa=False)
    assert no_mfa.get(REPORT).json()["error"] == "mfa_enrolment_required"


def test_the_report_page_has_charts_table_and_csv_link(admin, posted):
    r = admin.get("/admin/finance", params={"period": "week", "since": str(D1), "until": str(D3)}, headers=HTML)
    assert r.status_code == 200, r.text
    page = r.text
    assert 'id="chart-gmv"' in page and 'id="chart-flows"' in page and "chart.js-4.6.1.umd.min.js" in page
    data = json.loads(re.search(r'<script type="application/json" id="finance-data">(.*?)</script>', page, re.S)[1])
    assert data["labels"] == ["2025-03-03", "2025-03-10"] and data["gmv"] == [3500, 999]
    assert data["revenue"] == [2000, 800] and data["decimals"] == 2
    assert '<td class="num">44.99</td>' in page  # the total GMV
    assert "/admin/finance/report.csv?period=week&amp;since=2025-03-03&amp;until=2025-03-16" in page
    assert ">0.50 USD<" in page  # payouts in transit
    csv_page = admin.get("/admin/finance/report.csv", params={"period": "week", "since": str(D1), "until": str(D3)})
    assert csv_page.status_code == 200 and csv_page.text.splitlines()[-1].startswith("total,,USD,44.99,")


def test_the_report_page_explains_bad_input(admin):
    r = admin.get("/admin/finance", params={"since": "31/01/2025"}, headers=HTML)
    assert r.status_code == 422 and "since must be a date like 2026-01-31" in r.text
    assert admin.get("/admin/finance", params={"since": "", "until": ""}, headers=HTML).status_code == 200


def test_a_checkout_that_starts_a_free_trial_is_not_gmv(admin, posted, db, make_user):
    trial = books.add_payment(db, make_user("trialist"), 4999, "paid", D1, purpose="subscription")
    db.execute("""UPDATE payments SET metadata = '{"kind": "start", "trial_days": 14}' WHERE id = %s""", (trial,))
    paid = books.add_payment(db, make_user("payer"), 999, "paid", D1, purpose="subscription")
    db.execute("""UPDATE payments SET metadata = '{"kind": "start", "trial_days": 0}' WHERE id = %s""", (paid,))
    r = admin.get(REPORT, params={"period": "day", "since": str(D1), "until": str(D1)})
    row = r.json()["rows"][0]
    assert (row["paid_payments"], row["paid_payments_count"]) == (3000 + 999, 3)
