"""Admin API and pages over real HTTP: access rules, search, suspension, roles, audit log."""

from __future__ import annotations

import html
import re

import pytest

from smile.seed import seed_people
from tests.admin.helpers import add_user, grant, make_admin
from tests.support import STRONG_PASSWORD

USERS = "/api/v1/admin/users"
HTML = {"Accept": "text/html"}


@pytest.fixture
def admin(signup, db):
    return make_admin(signup, db)


def test_non_admins_get_404_everywhere(signup, client, db):
    person = signup()
    victim_id = person.user["id"]
    for method, url, body in [
        ("GET", USERS, None),
        ("GET", f"{USERS}/{victim_id}", None),
        ("POST", f"{USERS}/{victim_id}/suspend", {"reason": "spam"}),
        ("PUT", f"{USERS}/{victim_id}/roles", {"roles": ["admin"]}),
        ("GET", "/api/v1/admin/audit", None),
    ]:
        r = person.request(method, url, json=body)
        assert r.status_code == 404, (url, r.text)
        assert r.json()["error"] == "not_found"
    assert person.get("/admin/users", headers=HTML).status_code == 404
    assert client.get(USERS).status_code == 401
    roles = db.execute("SELECT roles FROM users WHERE id = %s", (victim_id,)).fetchone()[0]
    assert roles == ["user"]


def test_admin_without_mfa_is_told_to_enrol(signup, db):
    admin = make_admin(signup, db, mfa=False)
    r = admin.get(USERS)
    assert r.status_code == 403
    assert r.json()["error"] == "mfa_enrolment_required"
    page = admin.get("/admin/users", headers=HTML)
    assert page.status_code == 403 and "two-factor" in page.text


def test_list_search_filter_and_paginate(admin, dsn, db):
    alice = add_user(dsn, "alice_wonder", display_name="Alice Liddell", email="alice@example.com")
    bob = add_user(
        dsn, "bob_builder", display_name="Robert Builder", email="bob@construct.example.com", roles=("user", "mentor")
    )
    carol = add_user(dsn, "carol_x", display_name="Carol 100%", email="carol@example.com")
    db.execute("UPDATE users SET status = 'suspended' WHERE id = %s", (carol,))

    def usernames(**params) -> list[str]:
        r = admin.get(USERS, params=params)
        assert r.status_code == 200, r.text
        return [u["username"] for u in r.json()["items"]]

    assert usernames(q="LIDDELL") == ["alice_wonder"]  # display name, case-insensitive
    assert usernames(q="construct") == ["bob_builder"]  # email
    assert usernames(q="alice_wondr") == ["alice_wonder"]  # a typo still matches by trigram similarity
    assert usernames(q="100%") == ["carol_x"]  # LIKE wildcards are taken literally
    assert usernames(q="zzzz") == []
    assert usernames(role="mentor") == ["bob_builder"]
    assert usernames(status="suspended") == ["carol_x"]

    row = admin.get(USERS, params={"q": "alice"}).json()["items"][0]
    assert row["id"] == alice and row["email"] == "alice@example.com" and row["email_verified"] is True
    assert row["roles"] == ["user"] and row["status"] == "active" and row["mfa_enabled"] is False

    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = admin.get(USERS, params=params).json()
        assert len(body["items"]) <= 2
        seen += [u["id"] for u in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [carol, bob, alice, admin.user["id"]]  # newest first, each once

    assert admin.get(USERS, params={"cursor": "not-a-cursor"}).status_code == 422
    assert admin.get(USERS, params={"status": "banned"}).status_code == 422
    assert admin.get(USERS, params={"limit": 1000}).status_code == 422
    assert admin.get(f"{USERS}/{bob}").json()["roles"] == ["user", "mentor"]
    assert admin.get(f"{USERS}/00000000-0000-7000-8000-000000000000").status_code == 404


def test_suspend_signs_out_and_blocks_login_then_reactivate(admin, signup, client, mailbox, db):
    victim = signup()
    vid = victim.user["id"]
    assert admin.post(f"{USERS}/{vid}/suspend", json={}).status_code == 422
    r = admin.post(f"{USERS}/{vid}/suspend", json={"reason": "  x "})
    assert r.status_code == 422 and "reason" in r.json()["fields"]

    r = admin.post(f"{USERS}/{vid}/suspend", json={"reason": "Spam in every group"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "suspended" and r.json()["suspended_reason"] == "Spam in every group"

    assert victim.get("/api/v1/users/me").status_code == 401  # signed out: its sessions were revoked
    assert victim.post("/api/v1/auth/refresh", json={"refresh_token": victim.refresh}).status_code == 401
    login = client.post("/api/v1/auth/login", json={"login": victim.user["username"], "password": STRONG_PASSWORD})
    assert (login.status_code, login.json()["error"]) == (403, "suspended")  # told why it cannot sign in
    active = db.execute(
        "SELECT count(*) FROM auth_sessions WHERE user_id = %s AND revoked_at IS NULL", (vid,)
    ).fetchone()[0]
    assert active == 0
    notice = mailbox.wait(victim.email, "suspended")
    assert "Spam in every group" in notice["body"]

    again = admin.post(f"{USERS}/{vid}/suspend", json={"reason": "Spam again"})
    assert again.status_code == 409 and "suspended" in again.json()["detail"]

    r = admin.post(f"{USERS}/{vid}/reactivate")
    assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["suspended_reason"] is None
    assert admin.post(f"{USERS}/{vid}/reactivate").status_code == 409
    login = client.post("/api/v1/auth/login", json={"login": victim.user["username"], "password": STRONG_PASSWORD})
    assert login.status_code == 200 and login.json()["access_token"]
    mailbox.wait(victim.email, "reactivated")


def test_admin_cannot_suspend_or_demote_themselves(admin):
    me = admin.user["id"]
    r = admin.post(f"{USERS}/{me}/suspend", json={"reason": "testing myself"})
    assert r.status_code == 409 and "your own account" in r.json()["detail"]
    r = admin.request("PUT", f"{USERS}/{me}/roles", json={"roles": ["user", "mentor"]})
    assert r.status_code == 409 and r.json()["error"] == "self_demotion"
    assert "own admin role" in r.json()["detail"]
    assert admin.get(f"{USERS}/{me}").json()["roles"] == ["user", "admin"]
    assert admin.get(USERS).status_code == 200  # still an admin


def test_change_roles(admin, dsn):
    uid = add_user(dsn, "dana_roles")
    r = admin.request("PUT", f"{USERS}/{uid}/roles", json={"roles": ["mentor", "creator"]})
    assert r.status_code == 200 and r.json()["roles"] == ["user", "creator", "mentor"]  # "user" always kept
    r = admin.request("PUT", f"{USERS}/{uid}/roles", json={"roles": []})
    assert r.json()["roles"] == ["user"]
    r = admin.request("PUT", f"{USERS}/{uid}/roles", json={"roles": ["wizard"]})
    assert r.status_code == 422 and "roles" in str(r.json()["fields"])
    assert admin.get(f"{USERS}/{uid}").json()["roles"] == ["user"]


def test_promoted_admin_must_enrol_too(admin, signup):
    other = signup()
    r = admin.request("PUT", f"{USERS}/{other.user['id']}/roles", json={"roles": ["admin"]})
    assert r.json()["roles"] == ["user", "admin"]
    assert other.get(USERS).json()["error"] == "mfa_enrolment_required"


def test_audit_log_records_every_action_with_actor(admin, signup, dsn):
    victim = add_user(dsn, "erin_audited")
    admin.post(f"{USERS}/{victim}/suspend", json={"reason": "Harassment report"})
    admin.post(f"{USERS}/{victim}/reactivate")
    admin.request("PUT", f"{USERS}/{victim}/roles", json={"roles": ["creator"]})

    body = admin.get("/api/v1/admin/audit", params={"target": "erin_audited"}).json()
    actions = [e["action"] for e in body["items"]]
    assert actions == ["admin.roles", "admin.reactivate", "admin.suspend"]
    suspend = body["items"][2]
    assert suspend["actor_username"] == admin.user["username"] and suspend["actor_id"] == admin.user["id"]
    assert suspend["target_id"] == victim and suspend["target_username"] == "erin_audited"
    assert suspend["detail"]["reason"] == "Harassment report" and suspend["ip"] == "127.0.0.1"
    assert body["items"][0]["detail"] == {"added": ["creator"], "removed": []}

    by_action = admin.get("/api/v1/admin/audit", params={"action": "admin.suspend"}).json()["items"]
    assert [e["target_id"] for e in by_action] == [victim]
    by_actor = admin.get("/api/v1/admin/audit", params={"actor": admin.user["username"], "action": "admin"})
    assert len(by_actor.json()["items"]) == 3
    nobody = admin.get("/api/v1/admin/audit", params={"actor": "no_such_person"}).json()
    assert nobody["items"] == []
    assert admin.get("/api/v1/admin/audit", params={"target": "no_such_person"}).json()["items"] == []

    first = admin.get("/api/v1/admin/audit", params={"action": "admin", "limit": 2}).json()
    rest = admin.get("/api/v1/admin/audit", params={"action": "admin", "cursor": first["next_cursor"]}).json()
    assert [e["action"] for e in first["items"] + rest["items"]] == actions and rest["next_cursor"] is None


def test_admin_pages_render_and_forms_work(admin, dsn, db):
    uid = add_user(dsn, "frank_page", display_name="Frank Page")
    grant(db, uid, "mentor")
    page = admin.get("/admin/users", headers=HTML)
    assert page.status_code == 200 and "<html" in page.text
    assert "Frank Page" in page.text and 'hx-trigger="keyup changed delay:300ms' in page.text

    rows = admin.get("/admin/users", params={"q": "frank"}, headers={**HTML, "HX-Request": "true"})
    assert rows.status_code == 200 and "<html" not in rows.text
    assert "@frank_page" in rows.text and admin.user["username"] not in rows.text

    detail = admin.get(f"/admin/users/{uid}", headers=HTML)
    assert detail.status_code == 200 and f'action="/admin/users/{uid}/suspend"' in detail.text
    assert 'name="roles" value="mentor" checked' in detail.text

    short = admin.post(f"/admin/users/{uid}/suspend", data={"reason": "no"}, headers=HTML)
    assert short.status_code == 303
    assert "3 to 500 characters" in admin.get(short.headers["location"], headers=HTML).text
    done = admin.post(f"/admin/users/{uid}/suspend", data={"reason": "Bot account"}, headers=HTML)
    assert done.status_code == 303 and done.headers["location"] == f"/admin/users/{uid}"
    after = admin.get(f"/admin/users/{uid}", headers=HTML).text
    assert "Account suspended" in after and "Bot account" in after and "Reactivate account" in after

    admin.post(f"/admin/users/{uid}/roles", data={"roles": ["creator"]}, headers=HTML)
    assert admin.get(f"{USERS}/{uid}").json()["roles"] == ["user", "creator"]

    audit = admin.get("/admin/audit", headers=HTML)
    assert audit.status_code == 200 and "admin.suspend" in audit.text and "@frank_page" in audit.text


def test_users_page_loads_more(admin, dsn):
    seed_people(dsn, 26)  # 27 accounts (demo000..demo025, demoadmin) plus the admin: two pages of 25
    first = admin.get("/admin/users", headers=HTML).text
    assert "Load more" in first and "@demo025" in first and "@demo000" not in first
    more_url = html.unescape(re.search(r'hx-get="([^"]*cursor=[^"]*)"', first).group(1))
    more = admin.get(more_url, headers={**HTML, "HX-Request": "true"}).text
    assert "@demo000" in more and f"@{admin.user['username']}" in more and "Load more" not in more
    assert "@demo025" not in more


def test_admin_changes_no_table_itself():
    """DESIGN.md, Modules: admin calls identity's and social's services; it assigns no column, adds no row
    and runs no INSERT/UPDATE/DELETE of its own (reading for its lists is fine)."""
    import ast
    from pathlib import Path

    import smile.admin

    writes = []
    for path in Path(smile.admin.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AugAssign | ast.AnnAssign)
                else []
            )
            for target in targets:
                for part in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if isinstance(part, ast.Attribute):
                        writes.append(f"{path.name}:{node.lineno} assigns .{part.attr}")
            if isinstance(node, ast.Call):
                func = node.func
                if (
                    isinstance(func, ast.Name)
                    and func.id in ("insert", "update", "delete")
                    or isinstance(func, ast.Attribute)
                    and func.attr in ("add", "add_all", "delete", "merge")
                    and isinstance(func.value, ast.Name)
                    and func.value.id in ("db", "session")
                ):
                    writes.append(f"{path.name}:{node.lineno} calls {ast.unparse(func)}()")
    assert not writes, writes
