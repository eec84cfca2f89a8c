"""The journal browser over real HTTP: newest first with entries, filters, cursor pages, detail, HTML pages."""

from __future__ import annotations

import uuid

import pytest

from tests.admin.helpers import make_admin
from tests.billing.reports import books
from tests.billing.reports.books import D2, D3

JOURNAL = "/api/v1/admin/finance/journal"
HTML = {"Accept": "text/html"}


@pytest.fixture
def admin(signup, db):
    return make_admin(signup, db)


@pytest.fixture
def posted(db, ledger_db, make_user):
    return books.build(db, ledger_db, make_user("buyer"), make_user("seller"))


def kinds(api, **params) -> list[str]:
    r = api.get(JOURNAL, params=params)
    assert r.status_code == 200, r.text
    return [tx["kind"] for tx in r.json()["items"]]


def test_newest_first_with_entries_that_sum_to_zero(admin, posted):
    items = admin.get(JOURNAL, params={"limit": 100}).json()["items"]
    assert len(items) == 11
    assert [tx["id"] for tx in items] == sorted((tx["id"] for tx in items), reverse=True)
    sale = next(tx for tx in items if tx["id"] == str(posted["credit_sale"]))
    legs = {(e["owner_username"], e["purpose"], e["currency"]): e["amount"] for e in sale["entries"]}
    assert legs == {
        ("buyer", "wallet", "CRD"): -50,
        (None, "issuance", "CRD"): 50,
        (None, "issuance", "USD"): -500,
        (None, "fees", "USD"): 150,
        ("seller", "escrow", "USD"): 350,
    }
    assert (
        sale["reference_type"] == "sale" and sale["reference_id"] == "s2" and sale["idempotency_key"] == "credit_sale"
    )
    for tx in items:
        by_currency = {}
        for e in tx["entries"]:
            by_currency[e["currency"]] = by_currency.get(e["currency"], 0) + e["amount"]
        assert set(by_currency.values()) == {0}, tx
    card = next(tx for tx in items if tx["id"] == str(posted["card_sale"]))
    assert card["reversed_by_id"] == str(posted["refund"])


def test_filters_by_kind_user_account_reference_and_date(admin, posted, db):
    assert kinds(admin, kind="sale") == ["sale", "sale"]
    assert sorted(kinds(admin, user="seller")) == sorted(
        ["sale", "sale", "reversal", "escrow_release", "payout_requested", "payout_requested"]
    )
    buyer_id = db.execute("SELECT id FROM users WHERE username = 'buyer'").fetchone()[0]
    assert sorted(kinds(admin, user=str(buyer_id))) == ["credit_purchase", "credit_spend", "sale"]
    assert kinds(admin, user="nobody_here") == []
    assert sorted(kinds(admin, reference="s2")) == ["escrow_release", "sale"]
    assert kinds(admin, reference="sale:s1") == ["sale"]
    assert kinds(admin, reference="payout1_paid") == ["payout_paid"]  # an idempotency key
    assert kinds(admin, since=str(D2), until=str(D2)) == ["credit_spend", "sale"]
    assert len(kinds(admin, since=str(D3))) == 7
    escrow = db.execute(
        "SELECT a.id FROM ledger_accounts a JOIN users u ON u.id = a.owner_id "
        "WHERE u.username = 'seller' AND a.purpose = 'escrow'"
    ).fetchone()[0]
    assert sorted(kinds(admin, account=str(escrow))) == ["escrow_release", "reversal", "sale", "sale"]
    for params, field in [
        ({"since": "2025-03-12", "until": "2025-03-01"}, "since"),
        ({"account": "x"}, "account"),
        ({"cursor": "!!"}, "cursor"),
        ({"until": "9999-12-31"}, "until"),
        ({"limit": 0}, "limit"),
    ]:
        r = admin.get(JOURNAL, params=params)
        assert r.status_code == 422 and field in r.json()["fields"], r.text


def test_cursor_pages_cover_everything_once(admin, posted):
    seen, cursor = [], None
    while True:
        body = admin.get(JOURNAL, params={"limit": 4} | ({"cursor": cursor} if cursor else {})).json()
        assert len(body["items"]) <= 4
        seen += [tx["id"] for tx in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 11


def test_transaction_detail_links_reversal_and_captured_hold(admin, posted):
    refund = admin.get(f"{JOURNAL}/{posted['refund']}").json()
    assert refund["kind"] == "reversal" and refund["reverses"]["id"] == str(posted["card_sale"])
    assert refund["reverses"]["kind"] == "sale" and refund["memo"] == "Refund of s1"
    assert sorted(e["amount"] for e in refund["entries"]) == [-700, -300, 1000]
    sale = admin.get(f"{JOURNAL}/{posted['card_sale']}").json()
    assert sale["reversed_by"]["id"] == str(posted["refund"]) and sale["hold"] is None
    spend = admin.get(f"{JOURNAL}/{posted['spend']}").json()
    assert spend["hold"]["amount"] == 30 and spend["hold"]["captured"] == 20 and spend["hold"]["status"] == "captured"
    r = admin.get(f"{JOURNAL}/{uuid.uuid4()}")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert admin.get(f"{JOURNAL}/not-an-id").status_code == 422


def test_journal_pages(admin, posted):
    page = admin.get("/admin/finance/journal", params={"kind": "sale"}, headers=HTML)
    assert page.status_code == 200, page.text
    assert page.text.count('href="/admin/finance/journal/') == 2
    assert f'href="/admin/finance/journal/{posted["card_sale"]}"' in page.text
    assert '<option value="payout_paid"' in page.text and "@seller" in page.text and ">-500<" not in page.text
    assert ">-5.00<" in page.text and ">-50<" in page.text  # money in units, credits whole
    first = admin.get("/admin/finance/journal", headers=HTML | {"HX-Request": "true"})
    assert "<html" not in first.text and "<tr>" in first.text
    detail = admin.get(f"/admin/finance/journal/{posted['refund']}", headers=HTML)
    assert detail.status_code == 200 and "Reverses" in detail.text and "Refund of s1" in detail.text
    assert f"/admin/finance/journal/{posted['card_sale']}" in detail.text
    missing = admin.get(f"/admin/finance/journal/{uuid.uuid4()}", headers=HTML)
    assert missing.status_code == 404
