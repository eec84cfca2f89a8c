"""Refresh-token rotation, logout, the sessions list, and browser sessions with CSRF."""

from __future__ import annotations

from tests.support import STRONG_PASSWORD, enable_mfa

ME = "/api/v1/auth/sessions"


def second_login(make_client, api):
    """Another device signed in as the same user."""
    other = make_client()
    r = other.post("/api/v1/auth/login", json={"login": api.email, "password": api.password})
    assert r.status_code == 200, r.text
    other.access, other.refresh = r.json()["access_token"], r.json()["refresh_token"]
    return other


def browser_login(web, login, password=STRONG_PASSWORD, **extra):
    return web.post(
        "/login", data={"csrf_token": web.cookies["smile_csrf"], "login": login, "password": password, **extra}
    )


def test_refresh_rotates_the_token(signup, client):
    api = signup()
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": api.refresh})
    assert r.status_code == 200
    body = r.json()
    assert body["refresh_token"] != api.refresh and body["user"]["id"] == api.user["id"]
    assert client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"}).status_code == 200
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert r.status_code == 200 and r.json()["refresh_token"] not in (api.refresh, body["refresh_token"])


def test_reusing_a_spent_refresh_token_revokes_the_family(signup, client, db):
    api = signup()
    first = client.post("/api/v1/auth/refresh", json={"refresh_token": api.refresh}).json()
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": api.refresh})  # replay
    assert r.status_code == 401 and r.json()["error"] == "refresh_reused"
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401
    for access in (api.access, first["access_token"]):
        r = client.get(ME, headers={"Authorization": f"Bearer {access}"})
        assert r.status_code == 401
    assert db.execute("SELECT revoked_reason FROM auth_sessions").fetchall() == [("refresh_reuse",)]


def test_unknown_refresh_token_is_refused(client):
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": "not-a-token"})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def test_logout_revokes_the_session(signup, client, db):
    api = signup()
    assert api.post("/api/v1/auth/logout").status_code == 204
    assert api.get(ME).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": api.refresh}).status_code == 401
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'auth.logout'").fetchone() == (1,)


def test_sessions_list_marks_the_current_one(signup, make_client):
    api = signup()
    other = second_login(make_client, api)
    sessions = api.get(ME).json()
    assert len(sessions) == 2
    assert [s["current"] for s in sessions].count(True) == 1
    mine = next(s for s in sessions if s["current"])
    assert mine["kind"] == "api" and mine["ip"] == "127.0.0.1" and "python-httpx" in mine["user_agent"]
    theirs = next(s for s in other.get(ME).json() if s["current"])
    assert theirs["id"] != mine["id"]


def test_revoke_one_session_and_not_another_users(signup, make_client):
    alice, bob = signup(), signup()
    alice_phone = second_login(make_client, alice)
    phone_id = next(s["id"] for s in alice_phone.get(ME).json() if s["current"])
    bob_id = bob.get(ME).json()[0]["id"]
    r = alice.delete(f"{ME}/{bob_id}")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert bob.get(ME).status_code == 200
    assert alice.delete(f"{ME}/{phone_id}").status_code == 204
    assert alice_phone.get(ME).status_code == 401
    assert alice.delete(f"{ME}/{phone_id}").status_code == 404  # already signed out
    assert alice.delete(f"{ME}/not-a-uuid").status_code == 422


def test_revoke_others_signs_out_every_other_device(signup, make_client, db):
    api = signup()
    others = [second_login(make_client, api) for _ in range(2)]
    r = api.post(f"{ME}/revoke-others")
    assert r.status_code == 200
    assert r.json() == {"revoked": 2, "api_keys_revoked": 0, "detail": "Signed out 2 other devices."}
    assert all(o.get(ME).status_code == 401 for o in others)
    assert len(api.get(ME).json()) == 1
    assert api.post(f"{ME}/revoke-others").json()["revoked"] == 0
    rows = db.execute("SELECT detail->>'count' FROM audit_log WHERE action = 'sessions.revoke_others'").fetchall()
    assert rows == [("2",), ("0",)]


def test_login_form_needs_the_csrf_token(browser, signup):
    api = signup()
    web = browser()
    r = web.post("/login", data={"login": api.email, "password": api.password})
    assert r.status_code == 403 and "CSRF" in r.text
    r = web.post("/login", data={"login": api.email, "password": api.password, "csrf_token": "forged"})
    assert r.status_code == 403
    assert "smile_session" not in web.cookies
    r = browser_login(web, api.email)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_browser_login_sets_an_httponly_cookie_and_shows_the_user(browser, signup, db):
    api = signup()
    web = browser()
    assert api.user["display_name"] not in web.get("/").text
    r = browser_login(web, api.user["username"].upper())
    set_cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("smile_session="))
    assert "httponly" in set_cookie.lower() and "samesite=lax" in set_cookie.lower()
    page = web.get("/")
    assert f"Welcome, {api.user['display_name']}" in page.text and "Log out" in page.text
    assert db.execute("SELECT kind FROM auth_sessions ORDER BY id DESC LIMIT 1").fetchone() == ("browser",)


def test_browser_login_errors_and_next(browser, signup):
    api = signup()
    web = browser()
    r = browser_login(web, api.email, "Wrong-Password-1", next="/settings/sessions")
    assert r.status_code == 401 and "Wrong email, username or password" in r.text
    assert f'value="{api.email}"' in r.text and 'value="/settings/sessions"' in r.text
    r = web.post("/login", data={"csrf_token": web.cookies["smile_csrf"], "login": "", "password": ""})
    assert r.status_code == 422 and "Enter your email or username" in r.text and "Enter your password" in r.text
    r = browser_login(web, api.email, next="https://evil.example/")
    assert r.headers["location"] == "/"
    web2 = browser()
    assert browser_login(web2, api.email, next="//evil.example").headers["location"] == "/"
    web3 = browser()
    assert browser_login(web3, api.email, next="/settings/sessions").headers["location"] == "/settings/sessions"


def test_pages_that_need_login_send_you_to_login(browser):
    web = browser()
    r = web.get("/settings/sessions")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/settings/sessions"


def test_browser_logout(browser, signup, db):
    api = signup()
    web = browser(api)
    r = web.post("/logout", data={"csrf_token": web.cookies["smile_csrf"]})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "smile_session" not in web.cookies
    assert "You are logged out" in web.get("/").text
    assert db.execute("SELECT revoked_reason FROM auth_sessions WHERE kind = 'browser'").fetchone() == ("logout",)


def test_sessions_page_lists_devices_and_signs_out_others(browser, signup):
    api = signup()
    web = browser(api)
    page = web.get("/settings/sessions")
    assert page.status_code == 200
    assert page.text.count("this device") == 1 and "app / API" in page.text
    assert "This also revokes all your API keys" in page.text
    assert api.post("/api/v1/hub/keys", json={"name": "script"}).status_code == 201
    r = web.post("/settings/sessions/revoke-others", data={"csrf_token": web.cookies["smile_csrf"]})
    assert r.status_code == 303
    assert "Signed out 1 other device. 1 API key was revoked" in web.get("/settings/sessions").text
    assert api.get(ME).status_code == 401
    r = web.post("/settings/sessions/revoke-others")  # no CSRF token: refused
    assert r.status_code == 403


def test_browser_login_with_two_factor(browser, signup):
    api = signup()
    device, recovery = enable_mfa(api)
    web = browser()
    r = browser_login(web, api.email, next="/settings/sessions")
    assert r.status_code == 303 and r.headers["location"] == "/login/mfa"
    assert "smile_session" not in web.cookies
    page = web.get("/login/mfa")
    assert page.status_code == 200 and "two-factor code" in page.text
    r = web.post("/login/mfa", data={"csrf_token": web.cookies["smile_csrf"], "code": "abcdefghjk"})
    assert r.status_code == 422 and "not right" in r.text
    r = web.post("/login/mfa", data={"csrf_token": web.cookies["smile_csrf"], "code": recovery[0]})
    assert r.status_code == 303 and r.headers["location"] == "/settings/sessions"
    assert "this device" in web.get("/settings/sessions").text
    web2 = browser()
    assert web2.get("/login/mfa").headers["location"] == "/login"  # no password step yet
    browser_login(web2, api.email)
    r = web2.post("/login/mfa", data={"csrf_token": web2.cookies["smile_csrf"], "code": device.code()})
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_sessions_page_cannot_revoke_another_users_session(browser, signup):
    alice, bob = signup(), signup()
    bob_session = bob.get(ME).json()[0]["id"]
    web = browser(alice)
    r = web.post(f"/settings/sessions/{bob_session}/revoke", data={"csrf_token": web.cookies["smile_csrf"]})
    assert r.status_code == 404 and "Page not found" in r.text and alice.user["display_name"] in r.text
    assert bob.get(ME).status_code == 200
