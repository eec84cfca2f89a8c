"""Earnings and payouts over real HTTP: threshold, recent 2FA, one open payout under parallel requests,
admin settlement (paid / failed returns the funds), velocity limit and frozen accounts."""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from smile.billing.sales import tasks
from tests.admin.helpers import make_admin
from tests.billing.sales.conftest import API, approve, buy, cooled
from tests.billing.support import wait_for
from tests.support import enable_mfa


@pytest.fixture
def earn(listing, fund, signup):
    """earn(seller, price): a buyer pays `price` in credits and confirms; the seller's 70% is available."""

    def make(seller, price: int) -> dict:
        buyer = signup()
        credits = -(-price * 1000 // 900)  # the fewest credits worth `price` at the default payout value
        product = listing(seller, price=price, credit_price=credits)
        fund(buyer.user["id"], credits)
        sale = buy(buyer, product["id"]).json()["sale"]
        assert buyer.post(f"{API}/sales/{sale['id']}/confirm").status_code == 200
        return sale

    return make


@pytest.fixture
def seller(signup, db):
    """A seller with two-factor on (session freshly verified) and a sandbox payout account."""
    api = signup()
    enable_mfa(api)
    r = api.put(f"{API}/payout-account", json={"destination": "IBAN DE89 3704 0044 0532 0130 00"})
    assert r.status_code == 200, r.text
    cooled(db, api)
    return api


def test_payouts_need_two_factor(signup, earn, db):
    api = signup()
    earn(api, 2000)
    r = api.post(f"{API}/payouts", json={})
    assert r.status_code == 403 and r.json()["error"] == "mfa_enrolment_required"
    r = api.put(f"{API}/payout-account", json={"destination": "somewhere"})
    assert r.status_code == 403
    enable_mfa(api)
    assert api.put(f"{API}/payout-account", json={"destination": "somewhere"}).status_code == 200
    r = api.post(f"{API}/payouts", json={})
    assert r.status_code == 409 and r.json()["error"] == "payout_destination_cooling_off"
    cooled(db, api)
    assert api.post(f"{API}/payouts", json={}).status_code == 201


def test_stale_two_factor_is_refused(seller, earn, db):
    earn(seller, 2000)
    db.execute("UPDATE auth_sessions SET mfa_at = now() - interval '1 day' WHERE user_id = %s", (seller.user["id"],))
    r = seller.post(f"{API}/payouts", json={})
    assert r.status_code == 403 and r.json()["error"] == "mfa_required"


def test_below_threshold_and_missing_account_are_clear_409s(signup, seller, earn):
    earn(seller, 1000)  # 7.00 available; the threshold is 10.00
    r = seller.post(f"{API}/payouts", json={})
    assert r.status_code == 409 and r.json()["error"] == "below_threshold"
    assert "7.00 USD" in r.json()["detail"] and "10.00 USD" in r.json()["detail"]
    earn(seller, 1000)  # 14.00 now
    r = seller.post(f"{API}/payouts", json={"amount": 999})
    assert r.status_code == 422
    r = seller.post(f"{API}/payouts", json={"amount": 1401})
    assert r.status_code == 422
    other = signup()
    enable_mfa(other)
    earn(other, 2000)
    r = other.post(f"{API}/payouts", json={})
    assert r.status_code == 409 and r.json()["error"] == "no_payout_account"


def test_payout_paid_by_admin_moves_earnings_out_through_payouts(seller, earn, admin, balance, violations, db):
    earn(seller, 2000)
    clearing = balance(None, "clearing")
    e = seller.get(f"{API}/earnings").json()
    assert (e["available"], e["pending"], e["can_request_payout"]) == (1400, 0, True)
    r = seller.post(f"{API}/payouts", json={})
    assert r.status_code == 201, r.text
    payout = r.json()
    assert (payout["status"], payout["amount"], payout["review_reason"]) == ("review", 1400, "first payout")
    assert payout["destination"].startswith("IBAN")
    assert balance(seller.user["id"], "earnings") == 0
    assert balance(None, "payouts") == 1400
    e = seller.get(f"{API}/earnings").json()
    assert (e["available"], e["in_transit"], e["can_request_payout"]) == (0, 1400, False)

    assert seller.get(f"{API}/admin/payouts").status_code == 404  # not an admin
    queue = admin.get(f"{API}/admin/payouts", params={"status": "review"}).json()["items"]
    assert [p["id"] for p in queue] == [payout["id"]] and queue[0]["username"] == seller.user["username"]
    r = admin.post(f"{API}/admin/payouts/{payout['id']}/paid", json={"reference": "SEPA-123"})
    assert r.status_code == 409 and r.json()["error"] == "payout_in_review"  # approve first
    assert approve(admin, payout)["status"] == "requested"
    assert admin.post(f"{API}/admin/payouts/{payout['id']}/approve").status_code == 409  # once
    r = admin.post(f"{API}/admin/payouts/{payout['id']}/paid", json={"reference": "SEPA-123"})
    assert r.status_code == 200 and r.json()["status"] == "paid" and r.json()["transfer_ref"] == "SEPA-123"
    assert admin.post(f"{API}/admin/payouts/{payout['id']}/failed", json={"reason": "oops"}).status_code == 409
    assert balance(None, "payouts") == 0 and balance(None, "clearing") == clearing + 1400
    e = seller.get(f"{API}/earnings").json()
    assert (e["paid_out"], e["in_transit"], e["available"]) == (1400, 0, 0)
    assert [p["status"] for p in seller.get(f"{API}/payouts").json()["items"]] == ["paid"]
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE target_id = %s", (seller.user["id"],))]
    assert "billing.payout_approved" in actions and "billing.payout_paid" in actions
    assert violations() == []


def test_failed_payout_returns_the_funds(seller, earn, admin, balance, violations):
    earn(seller, 2000)
    payout = seller.post(f"{API}/payouts", json={}).json()
    r = admin.post(f"{API}/admin/payouts/{payout['id']}/failed", json={"reason": ""})
    assert r.status_code == 422  # a reason is required
    r = admin.post(f"{API}/admin/payouts/{payout['id']}/failed", json={"reason": "Account closed"})
    assert r.status_code == 200 and r.json()["failure_reason"] == "Account closed"
    assert balance(seller.user["id"], "earnings") == 1400 and balance(None, "payouts") == 0
    assert seller.get(f"{API}/earnings").json()["available"] == 1400
    assert seller.post(f"{API}/payouts", json={}).status_code == 201  # the seller can try again
    assert violations() == []


def test_one_open_payout_under_parallel_requests(seller, earn, balance, violations, db):
    for _ in range(3):
        earn(seller, 1500)  # 3 x 10.50 = 31.50 available: enough for three payouts of 10.00
    with ThreadPoolExecutor(5) as pool:
        results = list(pool.map(lambda _: seller.post(f"{API}/payouts", json={"amount": 1000}), range(5)))
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409, 409, 409, 409], [r.text for r in results]
    assert {r.json()["error"] for r in results if r.status_code == 409} == {"payout_open"}
    assert balance(seller.user["id"], "earnings") == 3150 - 1000
    assert db.execute("SELECT count(*) FROM payouts WHERE user_id = %s", (seller.user["id"],)).fetchone()[0] == 1
    assert violations() == []


def test_payout_velocity_limit(seller, earn, admin, settings, monkeypatch):
    monkeypatch.setattr(settings, "rate_payout", "2/day")
    earn(seller, 2000)
    first = seller.post(f"{API}/payouts", json={})
    assert first.status_code == 201
    admin.post(f"{API}/admin/payouts/{first.json()['id']}/failed", json={"reason": "bank rejected"})
    assert seller.post(f"{API}/payouts", json={}).status_code == 201
    r = seller.post(f"{API}/payouts", json={})
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_frozen_account_cannot_request_payouts(seller, earn, admin, balance, db, signup):
    earn(seller, 2000)
    uid = seller.user["id"]
    assert signup().post(f"{API}/admin/users/{uid}/freeze", json={"reason": "fraud"}).status_code == 404
    assert admin.post(f"{API}/admin/users/{uid}/freeze", json={"reason": ""}).status_code == 422
    assert admin.post(f"{API}/admin/users/{uuid.uuid4()}/freeze", json={"reason": "fraud"}).status_code == 404
    assert admin.post(f"{API}/admin/users/{uid}/freeze", json={"reason": "fraud"}).status_code == 200
    r = seller.post(f"{API}/payouts", json={})
    assert r.status_code == 403 and r.json()["error"] == "account_frozen"
    e = seller.get(f"{API}/earnings").json()
    assert e["frozen"] is True and e["can_request_payout"] is False
    assert balance(uid, "earnings") == 1400
    audited = db.execute(
        "SELECT actor_id, detail->>'reason' FROM audit_log WHERE target_id = %s AND action LIKE 'billing.%%'", (uid,)
    ).fetchall()
    assert [(str(a), why) for a, why in audited] == [(admin.user["id"], "fraud")]
    assert admin.post(f"{API}/admin/users/{uid}/unfreeze", json={}).status_code == 200
    assert seller.post(f"{API}/payouts", json={}).status_code == 201


def test_transfer_job_pays_a_requested_payout(seller, earn, server, admin, balance, violations):
    """The job Stripe mode defers, run here against the sandbox processor: transfer, then paid."""
    earn(seller, 2000)
    clearing = balance(None, "clearing")
    payout = seller.post(f"{API}/payouts", json={}).json()
    server.call(tasks.send_payout(payout_id=payout["id"]))  # in review: the job sends nothing
    assert seller.get(f"{API}/payouts").json()["items"][0]["status"] == "review"
    approve(admin, payout)
    server.call(tasks.send_payout(payout_id=payout["id"]))
    done = seller.get(f"{API}/payouts").json()["items"][0]
    assert done["status"] == "paid" and done["transfer_ref"]
    server.call(tasks.send_payout(payout_id=payout["id"]))  # a retried job changes nothing
    assert balance(None, "clearing") == clearing + 1400 and balance(None, "payouts") == 0
    assert violations() == []


def test_stripe_mode_needs_a_connect_account_id(signup, settings, monkeypatch):
    api = signup()
    enable_mfa(api)
    monkeypatch.setattr(settings, "payment_provider", "stripe")
    r = api.put(f"{API}/payout-account", json={"destination": "my bank"})
    assert r.status_code == 422 and "acct_" in r.json()["detail"]
    assert api.put(f"{API}/payout-account", json={"destination": "acct_1A2b3C4d5E"}).status_code == 200


def test_earnings_by_day_counts_the_sellers_share(seller, earn, listing, fund, signup):
    earn(seller, 2000)
    buyer = signup()
    fund(buyer.user["id"], 1113)
    buy(buyer, listing(seller, price=5, credit_price=1113)["id"])  # worth 10.01; in escrow: 701
    e = seller.get(f"{API}/earnings", params={"days": 7}).json()
    assert (e["pending"], e["available"]) == (701, 1400)
    assert len(e["by_day"]) == 7
    assert e["by_day"][-1] == {"day": dt.datetime.now(dt.UTC).date().isoformat(), "amount": 2101}
    assert sum(d["amount"] for d in e["by_day"]) == 2101


def test_stripe_mode_payout_is_a_connect_transfer_made_by_the_job(
    seller, earn, stripe_mode, admin, balance, violations, db
):
    earn(seller, 2000)  # bought with credits: no processor involved
    clearing = balance(None, "clearing")
    assert seller.put(f"{API}/payout-account", json={"destination": "acct_1SellerTest"}).status_code == 200
    r = seller.post(f"{API}/payouts", json={})
    assert r.status_code == 409 and r.json()["error"] == "payout_destination_cooling_off"  # a changed destination
    cooled(db, seller)
    payout = seller.post(f"{API}/payouts", json={}).json()
    assert payout["status"] == "review"  # in Stripe mode too: nothing leaves before an admin looks
    assert not stripe_mode.calls("/v1/transfers")
    payout = approve(admin, payout)
    assert payout["status"] == "requested"
    done = wait_for(
        lambda: next((p for p in seller.get(f"{API}/payouts").json()["items"] if p["status"] != "requested"), None),
        message="payout settled by the job",
    )
    assert done["status"] == "paid" and done["transfer_ref"].startswith("tr_test_")
    [call] = stripe_mode.calls("/v1/transfers")
    assert (call.params["amount"], call.params["destination"]) == ("1400", "acct_1SellerTest")
    assert call.idempotency_key == f"transfer:payout:{payout['id']}"
    assert balance(None, "clearing") == clearing + 1400 and balance(None, "payouts") == 0
    assert violations() == []


def test_a_new_or_changed_destination_cools_off_and_the_owner_is_emailed(seller, earn, mailbox, db):
    earn(seller, 2000)
    mail = mailbox.wait(seller.email, "payout destination changed")
    assert "IBAN DE89" in mail["body"] and "did not make this change" in mail["body"]

    def notices():
        return db.execute("SELECT count(*) FROM emails WHERE subject = 'Your payout destination changed'").fetchone()[0]

    # saving the same destination again starts nothing new
    assert (
        seller.put(f"{API}/payout-account", json={"destination": "IBAN DE89 3704 0044 0532 0130 00"}).status_code == 200
    )
    assert seller.post(f"{API}/payouts", json={}).status_code == 201
    assert notices() == 1
    # a thief who changes it cannot take the next payout for 48 hours, and the owner hears of it
    db.execute("UPDATE payouts SET status = 'failed'")
    r = seller.put(f"{API}/payout-account", json={"destination": "PayPal thief@example.com"})
    assert r.status_code == 200
    usable_from = dt.datetime.fromisoformat(r.json()["usable_from"])
    assert dt.timedelta(hours=47, minutes=59) < usable_from - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=48)
    r = seller.post(f"{API}/payouts", json={})
    assert r.status_code == 409 and r.json()["error"] == "payout_destination_cooling_off"
    assert usable_from.strftime("%Y-%m-%d %H:%M") in r.json()["detail"]
    assert notices() == 2 and "thief@example.com" in mailbox.wait(seller.email, "payout destination", after=1)["body"]


def test_first_and_large_payouts_wait_for_review_in_every_mode(
    seller, earn, admin, settings, monkeypatch, balance, violations
):
    monkeypatch.setattr(settings, "payout_review_over", 1500)
    for _ in range(4):
        earn(seller, 2000)  # 4 x 14.00
    first = seller.post(f"{API}/payouts", json={"amount": 1000}).json()
    assert (first["status"], first["review_reason"]) == ("review", "first payout")
    approve(admin, first)
    assert admin.post(f"{API}/admin/payouts/{first['id']}/paid", json={"reference": "r1"}).status_code == 200
    small = seller.post(f"{API}/payouts", json={"amount": 1500}).json()
    assert (small["status"], small["review_reason"]) == ("requested", "")  # paid before, at the limit: no review
    assert admin.post(f"{API}/admin/payouts/{small['id']}/paid", json={"reference": "r2"}).status_code == 200
    large = seller.post(f"{API}/payouts", json={"amount": 1501}).json()
    assert (large["status"], large["review_reason"]) == ("review", "over 15.00 USD")
    r = admin.post(f"{API}/admin/payouts/{large['id']}/failed", json={"reason": "Need proof of identity"})
    assert r.status_code == 200 and r.json()["status"] == "failed"
    assert balance(seller.user["id"], "earnings") == 5600 - 1000 - 1500
    assert violations() == []


def test_an_admin_cannot_approve_their_own_payout(earn, admin, signup, db):
    earn(admin, 2000)
    assert admin.put(f"{API}/payout-account", json={"destination": "IBAN NL91 ABNA 0417 1643 00"}).status_code == 200
    cooled(db, admin)
    payout = admin.post(f"{API}/payouts", json={}).json()
    assert payout["status"] == "review"
    r = admin.post(f"{API}/admin/payouts/{payout['id']}/approve")
    assert r.status_code == 409 and r.json()["error"] == "own_payout"
    other = make_admin(signup, db)
    assert approve(other, payout)["status"] == "requested"
