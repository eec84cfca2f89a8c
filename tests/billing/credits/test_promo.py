"""Promo codes over real HTTP: batches, CSV export, idempotent and race-free redemption, clear refusals."""

from __future__ import annotations

import csv
import io
import re
from concurrent.futures import ThreadPoolExecutor

from tests.billing.credits.helpers import FINANCE, balance
from tests.support import Api

REDEEM = "/api/v1/billing/credits/redeem"


def make_batch(admin: Api, **kw) -> tuple[dict, list[str]]:
    body = {"name": "Launch", "amount": 250, "count": 3, **kw}
    r = admin.post(f"{FINANCE}/promo-batches", json=body)
    assert r.status_code == 201, r.text
    batch = r.json()
    r = admin.get(f"{FINANCE}/promo-batches/{batch['id']}/codes.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    return batch, [row["code"] for row in rows]


def redeem(api: Api, code: str):
    return api.post(REDEEM, json={"code": code})


def test_admin_makes_a_batch_of_random_codes_and_exports_them(admin, db):
    batch, codes = make_batch(admin, count=50, max_uses=None, once_per_user=False)
    assert batch["count"] == 50 and batch["max_uses"] is None and batch["redemptions"] == 0
    assert len(codes) == 50 and len(set(codes)) == 50
    assert all(re.fullmatch(r"[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){3}", c) for c in codes), codes[:3]
    listed = admin.get(f"{FINANCE}/promo-batches").json()["items"]
    assert [b["id"] for b in listed] == [batch["id"]]
    actions = {r[0] for r in db.execute("SELECT action FROM audit_log WHERE target_id = %s", (batch["id"],))}
    assert actions == {"credits.promo_batch_created", "credits.promo_batch_exported"}


def test_redeem_adds_credits_and_a_retry_returns_the_same_result(admin, quick_user, ledger_ok, db):
    _, codes = make_batch(admin)
    user = quick_user()
    first = redeem(user, codes[0].lower().replace("-", " "))  # case and separators do not matter
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["amount"] == 250 and body["balance"] == 250 and body["replayed"] is False
    again = redeem(user, codes[0])
    assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["replayed"] is True
    assert balance(user) == 250
    history = user.get("/api/v1/billing/credits/wallet/history").json()["items"]
    assert [(h["kind"], h["amount"]) for h in history] == [("promo_redemption", 250)]
    assert db.execute("SELECT uses FROM promo_codes WHERE code = %s", (codes[0].replace("-", ""),)).fetchone()[0] == 1
    ledger_ok()


def test_refusals_are_clear(admin, quick_user, db):
    alice, bob = quick_user(), quick_user()
    r = redeem(alice, "NOPE-NOPE-NOPE-NOPE")
    assert r.status_code == 404 and r.json()["error"] == "promo_unknown"

    _, once = make_batch(admin, count=2)  # single-use, one per person
    assert redeem(alice, once[0]).status_code == 200
    r = redeem(alice, once[1])
    assert r.status_code == 409 and r.json()["error"] == "promo_already_redeemed"
    r = redeem(bob, once[0])
    assert r.status_code == 409 and r.json()["error"] == "promo_used_up"
    assert redeem(bob, once[1]).status_code == 200

    batch, old = make_batch(admin, count=1)
    db.execute("UPDATE promo_batches SET expires_at = now() - interval '1 minute' WHERE id = %s", (batch["id"],))
    r = redeem(alice, old[0])
    assert r.status_code == 410 and r.json()["error"] == "promo_expired" and "expired" in r.json()["detail"]

    r = admin.post(f"{FINANCE}/promo-batches", json={"name": "x", "amount": 0, "count": 1})
    assert r.status_code == 422 and "amount" in r.json()["fields"]
    assert balance(alice) == 250 and balance(bob) == 250


def test_codes_of_a_batch_without_the_once_per_user_rule_can_all_be_used(admin, quick_user):
    _, codes = make_batch(admin, count=2, once_per_user=False)
    user = quick_user()
    assert [redeem(user, c).status_code for c in codes] == [200, 200]
    assert balance(user) == 500


def test_wrong_codes_lock_the_user_out_for_a_while(quick_user, settings):
    user = quick_user()
    limit = int(settings.rate_redeem.split("/")[0])
    statuses = [redeem(user, f"WRONG{i:03d}").status_code for i in range(limit + 1)]
    assert statuses == [404] * limit + [429]
    assert redeem(user, "WRONG999").json()["error"] == "locked_out"


def _parallel(calls):
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_parallel_redemptions_of_a_once_per_user_code_by_one_user_give_one(admin, quick_user, server, ledger_ok, db):
    _, codes = make_batch(admin, count=1, max_uses=None)  # multi-use, once per person
    user = quick_user()
    clients = []
    for _ in range(20):
        api = Api(server.url)
        api.access = user.access
        clients.append(api)
    try:
        responses = _parallel([lambda api=api: redeem(api, codes[0]) for api in clients])
    finally:
        for api in clients:
            api.close()
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses if r.status_code != 200]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(not r.json()["replayed"] for r in responses) == 1
    assert balance(user) == 250
    assert db.execute("SELECT count(*) FROM promo_redemptions").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM ledger_transactions WHERE kind = 'promo_redemption'").fetchone()[0] == 1
    ledger_ok()


def test_parallel_redemptions_of_a_five_use_code_by_twenty_users_give_five(admin, quick_user, ledger_ok, db):
    _, codes = make_batch(admin, count=1, max_uses=5)
    users = [quick_user() for _ in range(20)]
    responses = _parallel([lambda u=u: redeem(u, codes[0]) for u in users])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [409] * 15, [r.text for r in responses]
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"promo_used_up"}
    assert sorted(balance(u) for u in users) == [0] * 15 + [250] * 5
    assert db.execute("SELECT uses FROM promo_codes").fetchone()[0] == 5
    assert db.execute("SELECT count(*) FROM promo_redemptions").fetchone()[0] == 5
    ledger_ok()


def test_promo_admin_routes_are_admins_only(quick_user, client):
    user = quick_user()
    assert user.post(f"{FINANCE}/promo-batches", json={"name": "x", "amount": 1, "count": 1}).status_code == 404
    assert user.get(f"{FINANCE}/promo-batches").status_code == 404
    assert client.post(REDEEM, json={"code": "X"}).status_code == 401
