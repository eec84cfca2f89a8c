"""Reports into the admin moderation queue: hide, approve, warn, suspend, dismiss; all audited."""

from __future__ import annotations

import pytest

from smile.kit import runtime
from tests.admin.helpers import make_admin
from tests.social.test_timelines import home, post, wait_jobs


def report(api, target_type: str, target_id: str, reason: str = "spam"):
    return api.post("/api/v1/reports", json={"target_type": target_type, "target_id": target_id, "reason": reason})


def queue(admin, status: str = "open") -> list[dict]:
    r = admin.get("/api/v1/admin/reports", params={"status": status})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def resolve(admin, report_id: str, action: str, note: str = ""):
    return admin.post(f"/api/v1/admin/reports/{report_id}/resolve", json={"action": action, "note": note})


def test_report_then_hide_makes_post_404_for_others(signup, db, client):
    alice, bob = signup("alice"), signup("bob")
    admin = make_admin(signup, db)
    p = post(alice, "something nasty")
    assert report(alice, "post", p["id"]).status_code == 422  # not your own content
    r = report(bob, "post", p["id"], "harassment")
    assert r.status_code == 201
    assert bob.get("/api/v1/admin/reports").status_code == 404  # not an admin: the queue does not exist
    [item] = queue(admin)
    assert item["excerpt"] == "something nasty" and item["author"]["username"] == "alice"
    assert item["reporter"] == "bob" and item["reason"] == "harassment" and item["target_status"] == "visible"
    r = resolve(admin, item["id"], "hide")
    assert r.status_code == 200 and r.json()["status"] == "actioned" and r.json()["resolution"] == "hide"
    assert resolve(admin, item["id"], "hide").status_code == 409
    for viewer in (bob, client):
        assert viewer.get(f"/api/v1/posts/{p['id']}").status_code == 404
        assert viewer.get("/api/v1/timelines/profile/alice").json()["items"] == []
    assert queue(admin) == [] and len(queue(admin, "actioned")) == 1
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE action LIKE 'moderation.%%'")]
    assert actions == ["moderation.hide"]


@pytest.fixture
def blocklist(server):
    settings = runtime.current().settings
    old = settings.moderation_blocklist
    settings.moderation_blocklist = "forbiddenword"
    yield
    settings.moderation_blocklist = old


def test_approve_publishes_held_post(signup, db, client, blocklist):
    alice, bob = signup("alice"), signup("bob")
    admin = make_admin(signup, db)
    home(bob)
    bob.post("/api/v1/users/alice/follow")
    held = post(alice, "this has forbiddenword inside")
    assert held["status"] == "held"
    wait_jobs(db)
    assert home(bob) == [] and client.get(f"/api/v1/posts/{held['id']}").status_code == 404
    [item] = queue(admin)
    assert item["automatic"] is True and item["reason"] == "auto:blocklist" and item["target_status"] == "held"
    assert resolve(admin, item["id"], "approve").status_code == 200
    wait_jobs(db)
    assert client.get(f"/api/v1/posts/{held['id']}").status_code == 200
    assert home(bob) == ["this has forbiddenword inside"]


def test_warn_emails_and_suspend_signs_out(signup, db, mailbox):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    admin = make_admin(signup, db)
    report(bob, "user", alice.user["id"], "spam")
    report(carol, "user", alice.user["id"], "spam")
    first, second = queue(admin)
    assert resolve(admin, first["id"], "hide").status_code == 422  # accounts are warned or suspended
    assert resolve(admin, first["id"], "warn", "Please stop posting ads.").status_code == 200
    assert "Please stop posting ads." in mailbox.wait("alice@example.com", "warning")["body"]
    assert queue(admin) == []  # every open report on the same target is closed
    report(bob, "user", alice.user["id"], "harassment")
    [again] = queue(admin)
    assert resolve(admin, again["id"], "suspend", "x").status_code == 422  # a suspension needs a real reason
    assert resolve(admin, again["id"], "suspend", "Repeated spam after a warning.").status_code == 200
    assert alice.get("/api/v1/users/me").status_code == 401
    assert db.execute("SELECT status FROM users WHERE username = 'alice'").fetchone()[0] == "suspended"
    actions = sorted(r[0] for r in db.execute("SELECT action FROM audit_log WHERE action LIKE 'moderation.%%'"))
    assert actions == ["moderation.suspend", "moderation.warn"]


def test_dismiss_and_admin_page(signup, db):
    alice, bob = signup("alice"), signup("bob")
    admin = make_admin(signup, db)
    p = post(alice, "fine post")
    report(bob, "post", p["id"], "other")
    page = admin.get("/admin/moderation")
    assert page.status_code == 200 and "fine post" in page.text and "Dismiss" in page.text
    [item] = queue(admin)
    assert resolve(admin, item["id"], "dismiss").json()["status"] == "dismissed"
    assert bob.get(f"/api/v1/posts/{p['id']}").status_code == 200
    assert "Nothing to review" in admin.get("/admin/moderation").text
    assert report(bob, "post", p["id"], "other").status_code == 201  # a new report once the old one is closed
