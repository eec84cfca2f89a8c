"""The wallet: history filters, pagination and CSV, starting grant, low-balance email, admin adjustments."""

from __future__ import annotations

import csv
import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor

from smile.billing.credits.service import _cell
from tests.billing.credits.helpers import FINANCE, WALLET, adjust, balance
from tests.support import Api

HISTORY = f"{WALLET}/history"


def test_wallet_starts_empty_and_is_private(quick_user, client):
    alice, bob = quick_user(), quick_user()
    assert alice.get(WALLET).json() == {
        "currency": "CRD",
        "balance": 0,
        "held": 0,
        "available": 0,
        "low_balance_threshold": 100,
    }
    assert alice.get(HISTORY).json() == {"items": [], "next_cursor": None}
    assert client.get(WALLET).status_code == 401 and client.get(f"{HISTORY}.csv").status_code == 401
    assert bob.get(HISTORY).json()["items"] == []


def test_history_filters_pagination_and_csv(admin, quick_user):
    user = quick_user()
    for amount in (10, 20, 30, 40):
        assert adjust(admin, user, amount).status_code == 201
    assert adjust(admin, user, -5, "correction").status_code == 201
    page = user.get(HISTORY, params={"limit": 2}).json()
    assert [i["amount"] for i in page["items"]] == [-5, 40]
    page = user.get(HISTORY, params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [i["amount"] for i in page["items"]] == [30, 20]
    page = user.get(HISTORY, params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [i["amount"] for i in page["items"]] == [10] and page["next_cursor"] is None

    today = dt.datetime.now(dt.UTC).date()
    tomorrow, yesterday = (today + dt.timedelta(days=1)).isoformat(), (today - dt.timedelta(days=1)).isoformat()
    assert len(user.get(HISTORY, params={"since": yesterday}).json()["items"]) == 5
    assert user.get(HISTORY, params={"since": tomorrow}).json()["items"] == []
    assert user.get(HISTORY, params={"until": yesterday}).json()["items"] == []
    assert len(user.get(HISTORY, params={"kind": "admin_adjustment"}).json()["items"]) == 5
    assert user.get(HISTORY, params={"kind": "promo_redemption"}).json()["items"] == []
    r = user.get(HISTORY, params={"kind": "DROP TABLE"})
    assert r.status_code == 422 and "kind" in r.json()["fields"]
    assert user.get(HISTORY, params={"cursor": "!!"}).status_code == 422
    assert user.get(HISTORY, params={"since": "yesterday"}).status_code == 422

    r = user.get(f"{HISTORY}.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [int(row["amount"]) for row in rows] == [-5, 40, 30, 20, 10]
    assert {row["kind"] for row in rows} == {"admin_adjustment"}
    assert list(csv.reader(io.StringIO(user.get(f"{HISTORY}.csv", params={"since": tomorrow}).text))) == [
        ["date", "kind", "amount", "memo", "reference_type", "reference_id", "transaction_id"]
    ]


def test_csv_cells_never_start_a_formula():
    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("@x") == "'@x" and _cell("Promo") == "Promo"


def test_starting_grant_lands_once(quick_user, server, settings, monkeypatch, db):
    monkeypatch.setattr(settings, "starting_credits", 75)
    user = quick_user()

    def look(_):
        api = Api(server.url)
        api.access = user.access
        try:
            return api.get(WALLET).json()["balance"]
        finally:
            api.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        seen = list(pool.map(look, range(10)))
    assert seen == [75] * 10
    assert balance(user) == 75
    assert db.execute("SELECT count(*) FROM ledger_transactions WHERE kind = 'signup_grant'").fetchone()[0] == 1
    monkeypatch.setattr(settings, "starting_credits", 0)
    assert quick_user().get(WALLET).json()["balance"] == 0


def low_notices(db, email: str) -> int:
    return db.execute(
        "SELECT count(*) FROM emails WHERE \"to\" = %s AND subject LIKE '%%running low%%'", (email,)
    ).fetchone()[0]


def test_low_balance_email_once_per_crossing(admin, quick_user, mailbox, db):
    user = quick_user()
    assert adjust(admin, user, 50).status_code == 201
    assert adjust(admin, user, -10).status_code == 201
    assert low_notices(db, user.email) == 0  # never was above the mark: no crossing
    assert adjust(admin, user, 100).status_code == 201  # 140
    assert adjust(admin, user, -50).status_code == 201  # 90: crossed
    assert low_notices(db, user.email) == 1
    assert "90 credits left" in mailbox.wait(user.email, "running low")["body"]
    assert adjust(admin, user, -10).status_code == 201  # 80: still low, no second email
    assert adjust(admin, user, 5).status_code == 201  # 85: a top-up that stays below the mark
    assert adjust(admin, user, -5).status_code == 201
    assert low_notices(db, user.email) == 1
    assert adjust(admin, user, 100).status_code == 201  # 180: re-armed
    assert adjust(admin, user, -100).status_code == 201  # 80: a new crossing
    assert low_notices(db, user.email) == 2


def test_admin_adjustment_rules(admin, quick_user, db):
    user = quick_user()
    r = adjust(admin, user, 300, "goodwill for the outage", headers={"Idempotency-Key": "adjust-1"})
    assert r.status_code == 201 and r.json()["balance"] == 300 and r.json()["replayed"] is False
    again = adjust(admin, user, 300, "goodwill for the outage", headers={"Idempotency-Key": "adjust-1"})
    assert again.json()["replayed"] is True and again.json()["transaction_id"] == r.json()["transaction_id"]
    assert balance(user) == 300

    r = adjust(admin, user, -301, "too much")
    assert r.status_code == 402 and "only 300 credits" in r.json()["detail"]
    assert adjust(admin, user, 10, "  ").status_code == 422
    assert adjust(admin, user, 0).status_code == 422
    r = admin.post(f"{FINANCE}/credit-adjustments", json={"user": "nobody-here", "amount": 5, "reason": "why not"})
    assert r.status_code == 404 and "user" in r.json()["fields"]
    assert adjust(user, user, 1000, "self-service").status_code == 404
    assert balance(user) == 300

    detail = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'credits.adjusted' AND target_id = %s", (user.user["id"],)
    ).fetchall()
    assert [(d[0]["amount"], d[0]["reason"]) for d in detail] == [(300, "goodwill for the outage")]
