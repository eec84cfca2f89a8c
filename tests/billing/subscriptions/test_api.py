"""The subscriptions API and page: plans, entitlements, bad input, other users, admin cancel."""

from __future__ import annotations

from tests.admin.helpers import make_admin
from tests.billing.subscriptions.conftest import subs


def test_plans_are_seeded_and_listed_in_order(client):
    r = client.get("/api/v1/billing/plans")
    assert r.status_code == 200, r.text
    plans = {p["code"]: p for p in r.json()}
    assert [p["code"] for p in r.json()] == ["free", "creator_pro", "business"]
    assert (plans["free"]["price"], plans["creator_pro"]["price"], plans["business"]["price"]) == (0, 999, 4999)
    assert plans["creator_pro"]["interval"] == "month" and plans["creator_pro"]["currency"] == "USD"
    assert plans["creator_pro"]["owner_id"] is None and plans["creator_pro"]["product_type"] == "platform"
    assert "creator_tools" in plans["creator_pro"]["entitlements"]
    assert client.get("/api/v1/billing/plans", params={"owner_id": "nope"}).status_code == 422


def test_everyone_has_free_entitlements(signup, client):
    api = signup()
    body = api.get("/api/v1/billing/entitlements").json()
    assert "post" in body["entitlements"] and "creator_tools" not in body["entitlements"]
    assert body["subscriptions"] == []
    assert client.get("/api/v1/billing/entitlements").status_code == 401


def test_bad_input_and_refusals(signup):
    api = signup()
    for body, status in (
        ({"plan": "free"}, 422),
        ({"plan": "platinum"}, 404),
        ({}, 422),
        ({"plan": ""}, 422),
        ({"plan": "x" * 101}, 422),
    ):
        r = api.post("/api/v1/billing/subscriptions", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"] and r.json()["detail"]
    assert (
        api.post(
            "/api/v1/billing/subscriptions", content=b"{", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    assert api.get("/api/v1/billing/subscriptions/not-a-uuid").status_code == 422
    unverified = signup(verify=False)
    r = unverified.post("/api/v1/billing/subscriptions", json={"plan": "creator_pro"})
    assert r.status_code == 403 and r.json()["error"] == "email_unverified"


def test_idempotency_key_returns_the_same_checkout(signup):
    api = signup()
    headers = {"Idempotency-Key": "subscribe-attempt-1"}
    one = api.post("/api/v1/billing/subscriptions", json={"plan": "creator_pro"}, headers=headers)
    two = api.post("/api/v1/billing/subscriptions", json={"plan": "creator_pro"}, headers=headers)
    assert one.status_code == two.status_code == 201
    assert one.json()["payment_id"] == two.json()["payment_id"]


def test_one_live_subscription_and_other_users_see_404(subscribed, signup):
    alice, sub = subscribed("creator_pro")
    r = alice.post("/api/v1/billing/subscriptions", json={"plan": "business"})
    assert r.status_code == 409 and r.json()["error"] == "already_subscribed"
    bob = signup()
    url = f"/api/v1/billing/subscriptions/{sub['id']}"
    assert bob.get(url).status_code == 404
    for action in ("cancel", "resume", "pay"):
        assert bob.post(f"{url}/{action}").status_code == 404
    assert bob.get(f"{url}/change", params={"plan": "business"}).status_code == 404
    assert bob.post(f"{url}/change", json={"plan": "business"}).status_code == 404
    assert bob.get("/api/v1/billing/subscriptions").json()["items"] == []
    assert alice.get(url).json()["status"] == "active"
    r = alice.post(f"{url}/pay")
    assert r.status_code == 409 and r.json()["error"] == "not_past_due"


def test_admin_cancels_at_once_and_it_is_audited(subscribed, signup, db):
    alice, sub = subscribed("creator_pro")
    assert (
        alice.post(
            f"/api/v1/billing/admin/subscriptions/{sub['id']}/cancel", json={"reason": "fraud check"}
        ).status_code
        == 404
    )  # not an admin
    admin = make_admin(signup, db)
    listed = admin.get("/api/v1/billing/admin/subscriptions", params={"user_id": alice.user["id"]})
    assert listed.status_code == 200 and [s["id"] for s in listed.json()["items"]] == [sub["id"]]
    r = admin.post(f"/api/v1/billing/admin/subscriptions/{sub['id']}/cancel", json={"reason": "x"})
    assert r.status_code == 422
    r = admin.post(f"/api/v1/billing/admin/subscriptions/{sub['id']}/cancel", json={"reason": "chargeback filed"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "canceled" and r.json()["ended_at"]
    assert "creator_tools" not in alice.get("/api/v1/billing/entitlements").json()["entitlements"]
    row = db.execute(
        "SELECT action, actor_id::text, detail->>'reason' FROM audit_log WHERE target_id = %s", (sub["id"],)
    ).fetchone()
    assert row == ("subscription_cancel", admin.user["id"], "chargeback filed")
    again = admin.post(f"/api/v1/billing/admin/subscriptions/{sub['id']}/cancel", json={"reason": "again"})
    assert again.status_code == 409


def test_page_subscribe_cancel_and_resume_forms(signup):
    from tests.billing.subscriptions.conftest import wait_sub
    from tests.billing.support import pay_sandbox

    api = signup()
    html = api.get("/billing/subscription", headers={"accept": "text/html"})
    assert html.status_code == 200
    assert 'id="plan-creator_pro"' in html.text and "Start 14-day free trial" in html.text
    r = api.post("/billing/subscription/subscribe", data={"plan": "creator_pro"})
    assert r.status_code == 303 and r.headers["location"].startswith("/billing/sandbox/checkout/")
    pay_sandbox(api, r.headers["location"])
    sub = wait_sub(api, lambda s: s["status"] == "active")
    page = api.get("/billing/subscription", headers={"accept": "text/html"}).text
    assert "Next renewal" in page and "Upgrade to Business" in page
    r = api.post("/billing/subscription/cancel", data={"subscription": sub["id"]})
    assert r.status_code == 303
    page = api.get("/billing/subscription", headers={"accept": "text/html"}).text
    assert "Cancels on" in page and "Keep my plan" in page
    api.post("/billing/subscription/resume", data={"subscription": sub["id"]})
    assert subs(api)[0]["cancel_at_period_end"] is False
    r = api.post("/billing/subscription/subscribe", data={"plan": "business"})  # refused: shown as a message
    assert r.status_code == 303 and r.headers["location"] == "/billing/subscription"
    assert "You already have Creator Pro" in api.get("/billing/subscription", headers={"accept": "text/html"}).text


def test_page_needs_login(client):
    r = client.get("/billing/subscription", headers={"accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
