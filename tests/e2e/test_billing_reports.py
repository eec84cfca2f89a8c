"""An admin reads the books in Chromium: the report's charts draw the figures, the journal leads to a
transaction and the one it reverses. Screenshots go to var/screenshots."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import expect

from tests.admin.helpers import make_admin
from tests.billing.reports import books
from tests.billing.reports.books import D1, D3


def test_admin_reads_report_charts_and_walks_the_journal(new_page, shot, signup, db, ledger_db, make_user):
    admin = make_admin(signup, db)
    with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs on this thread; the ledger posts use asyncio.run
        posted = pool.submit(books.build, db, ledger_db, make_user("buyer"), make_user("seller")).result()
    page = new_page()
    page.context.set_extra_http_headers({"Authorization": f"Bearer {admin.access}"})  # the MFA-verified session

    page.goto(f"/admin/finance?period=week&since={D1}&until={D3}")
    page.wait_for_function("() => window.financeCharts && window.financeCharts.length === 2")
    drawn = page.evaluate("() => window.financeCharts.map(c => c.data.datasets.map(d => [d.label, d.data]))")
    assert drawn == [
        [["GMV", [3500, 999]], ["Revenue", [2000, 800]]],
        [["Fees", [450, -300]], ["Refunds", [0, 1199]], ["Payouts paid", [0, 300]]],
    ]
    assert page.evaluate("() => document.getElementById('chart-gmv').getBoundingClientRect().height") > 100
    expect(page.locator("#report-table tr.total")).to_contain_text("44.99")
    expect(page.locator("#outstanding")).to_contain_text("130 CRD")
    shot(page, "billing-finance-report")

    page.click("a[href='/admin/finance/journal']")
    page.select_option("select[name=kind]", "sale")
    page.click("form[role=search] button[type=submit]")
    expect(page.locator("#journal-rows > tr")).to_have_count(2)
    shot(page, "billing-finance-journal")
    page.click(f"a[href='/admin/finance/journal/{posted['card_sale']}']")
    expect(page.locator("main")).to_contain_text("Reversed by")
    page.click(f"a[href='/admin/finance/journal/{posted['refund']}']")
    expect(page.locator("main")).to_contain_text("Reverses")
    expect(page.locator("main")).to_contain_text("Refund of s1")
